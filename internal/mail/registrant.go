package mail

import (
	"fmt"
	"reflect"
	"strings"
	"text/template/parse"
	"unicode"
)

// Text chosen by a registrant (a company's or a person's name) is data, not
// part of the message: a registrant must not be able to make onboard mail
// "Your mailbox is full - restore access at http://evil.example" to someone
// else. Fields of the *Data types that carry such text are tagged:
//
//   - `mail:"quote"`: shown in typographic quotes, “like this”, and defanged;
//   - `mail:"defang"`: defanged only (a greeting with the recipient's own name).
//
// Defanging breaks what mail clients turn into links: every "://" becomes
// "[://]" and every dot between two letters or digits "[.]" (also the
// ideographic and full-width dots), so "http://evil.example/login" reads
// "http[://]evil[.]example/login"; line breaks become spaces. Render applies
// this to the tagged fields, and LoadTemplates refuses subject templates
// (built in or overrides) that use a tagged field at all.

const (
	tagQuote  = "quote"
	tagDefang = "defang"
)

// Defang returns s on one line with URL schemes and domain-like dots broken
// so that mail clients do not turn it into a link.
func Defang(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	s = strings.ReplaceAll(s, "://", "[://]")
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if isDot(r) && i > 0 && i+1 < len(rs) && isAlnum(rs[i-1]) && isAlnum(rs[i+1]) {
			b.WriteString("[.]")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Quote returns s defanged and in typographic quotes.
func Quote(s string) string { return "“" + Defang(s) + "”" }

func isDot(r rune) bool { return r == '.' || r == '。' || r == '．' || r == '｡' }

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// asData returns a copy of data whose tagged fields are quoted or defanged;
// data that is not a struct is returned as it is.
func asData(data any) any {
	v := reflect.ValueOf(data)
	if v.Kind() != reflect.Struct {
		return data
	}
	cp := reflect.New(v.Type()).Elem()
	cp.Set(v)
	for i := range v.NumField() {
		f := cp.Field(i)
		if f.Kind() != reflect.String || f.String() == "" || !f.CanSet() {
			continue
		}
		switch v.Type().Field(i).Tag.Get("mail") {
		case tagQuote:
			f.SetString(Quote(f.String()))
		case tagDefang:
			f.SetString(Defang(f.String()))
		}
	}
	return cp.Interface()
}

// registrantFields lists the fields of a data type that carry text chosen
// by a registrant.
func registrantFields(data any) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(data)
	if t == nil || t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		switch t.Field(i).Tag.Get("mail") {
		case tagQuote, tagDefang:
			out[t.Field(i).Name] = true
		}
	}
	return out
}

// checkSubject refuses a subject template that uses a field of forbidden.
func checkSubject(file string, tree *parse.Tree, forbidden map[string]bool) error {
	var used []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(&n.BranchNode)
		case *parse.WithNode:
			walk(&n.BranchNode)
		case *parse.RangeNode:
			walk(&n.BranchNode)
		case *parse.BranchNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			if len(n.Ident) > 0 && forbidden[n.Ident[0]] {
				used = append(used, n.Ident[0])
			}
		case *parse.ChainNode:
			walk(n.Node)
			for _, f := range n.Field {
				if forbidden[f] {
					used = append(used, f)
				}
			}
		}
	}
	if tree != nil {
		walk(tree.Root)
	}
	if len(used) > 0 {
		return fmt.Errorf("template %s uses %s, text chosen by a registrant, which must not appear in a subject",
			file, strings.Join(used, ", "))
	}
	return nil
}
