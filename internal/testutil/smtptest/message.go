package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"unicode"
)

// Message is one message accepted by the server, with its body decoded.
type Message struct {
	// From is the envelope sender (MAIL FROM).
	From string
	// To holds the envelope recipients (RCPT TO), in order.
	To []string
	// Raw is the message exactly as transferred in DATA.
	Raw []byte
	// Header is the parsed top-level header.
	Header mail.Header
	// Subject is the decoded (RFC 2047) Subject header.
	Subject string
	// MessageID is the Message-ID header value, angle brackets included.
	MessageID string
	// Text is the decoded first text/plain part (or body), with CRLF line
	// endings normalised to LF.
	Text string
	// HTML is the decoded first text/html part (or body), with CRLF line
	// endings normalised to LF.
	HTML string
	// TLS reports whether the message arrived over a TLS connection
	// (implicit TLS or after STARTTLS).
	TLS bool
	// AuthUser is the username the client authenticated as, or "".
	AuthUser string
}

// Link returns the first URL in the text part that starts with prefix, for
// example Link("http://x/register?token="). A match only counts when it
// starts at a word boundary (start of text, whitespace or an opening
// bracket/quote); the URL extends to the next whitespace or closing
// bracket/quote, and trailing sentence punctuation is dropped. It returns ""
// when there is no such URL.
func (m Message) Link(prefix string) string {
	if prefix == "" {
		return ""
	}
	text := m.Text
	for from := 0; from < len(text); {
		i := strings.Index(text[from:], prefix)
		if i < 0 {
			return ""
		}
		start := from + i
		from = start + 1
		if start > 0 && !isURLOpener(rune(text[start-1])) {
			continue
		}
		end := start + len(prefix)
		for end < len(text) && !isURLTerminator(rune(text[end])) {
			end++
		}
		return strings.TrimRight(text[start:end], ".,;:!?")
	}
	return ""
}

func isURLOpener(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(`<(["'>:`, r)
}

func isURLTerminator(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(`<>()[]"'`, r)
}

// parseMessage decodes raw into a Message. On error the returned Message
// still carries Raw and whatever could be decoded.
func parseMessage(raw []byte) (Message, error) {
	m := Message{Raw: raw}
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, fmt.Errorf("read header: %w", err)
	}
	m.Header = pm.Header
	m.MessageID = strings.TrimSpace(pm.Header.Get("Message-Id"))
	dec := mime.WordDecoder{}
	if subj, err := dec.DecodeHeader(pm.Header.Get("Subject")); err == nil {
		m.Subject = subj
	} else {
		m.Subject = pm.Header.Get("Subject")
	}
	if err := walkPart(&m, pm.Header.Get("Content-Type"), pm.Header.Get("Content-Transfer-Encoding"), pm.Body); err != nil {
		return m, err
	}
	return m, nil
}

// walkPart fills m.Text and m.HTML from the first matching leaves of a
// (possibly nested) MIME entity.
func walkPart(m *Message, contentType, transferEncoding string, body io.Reader) error {
	mediaType, params := "text/plain", map[string]string{}
	if contentType != "" {
		mt, p, err := mime.ParseMediaType(contentType)
		if err != nil {
			return fmt.Errorf("parse content type %q: %w", contentType, err)
		}
		mediaType, params = mt, p
	}

	if strings.HasPrefix(mediaType, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			return fmt.Errorf("multipart entity without boundary")
		}
		mr := multipart.NewReader(body, boundary)
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read multipart part: %w", err)
			}
			if isAttachment(part.Header.Get("Content-Disposition")) {
				continue
			}
			if err := walkPart(m, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part); err != nil {
				return err
			}
		}
	}

	var dst *string
	switch mediaType {
	case "text/plain":
		dst = &m.Text
	case "text/html":
		dst = &m.HTML
	default:
		return nil
	}
	if *dst != "" {
		return nil // keep the first one
	}
	decoded, err := decodeBody(transferEncoding, body)
	if err != nil {
		return fmt.Errorf("decode %s body: %w", mediaType, err)
	}
	*dst = strings.ReplaceAll(string(decoded), "\r\n", "\n")
	return nil
}

func decodeBody(transferEncoding string, body io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(transferEncoding)) {
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(body))
	case "base64":
		return io.ReadAll(base64.NewDecoder(base64.StdEncoding, body))
	case "", "7bit", "8bit", "binary":
		return io.ReadAll(body)
	default:
		return nil, fmt.Errorf("unsupported transfer encoding %q", transferEncoding)
	}
}

func isAttachment(disposition string) bool {
	if disposition == "" {
		return false
	}
	d, _, err := mime.ParseMediaType(disposition)
	return err == nil && strings.EqualFold(d, "attachment")
}
