// Package mail renders and delivers onboard's outgoing email.
//
// It has three parts:
//
//   - Templates: the message texts (subject, text/plain and text/html per
//     message name), embedded in the binary and optionally overridden file by
//     file from a directory (LoadTemplates).
//   - Senders: NewSender picks, from one URL, a development LogSender (no
//     URL) or an SMTPSender (smtp://, smtp+starttls://, smtps://).
//   - Worker: drains the transactional outbox. The service stores each mail
//     in the outbox table in the same transaction as the change that caused
//     it; the Worker claims due rows through the Queue interface, sends them
//     and records success, retry time or abandonment.
package mail
