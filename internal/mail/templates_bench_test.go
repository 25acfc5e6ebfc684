package mail

import (
	"testing"

	"github.com/onboard-dev/onboard/internal/brand"
)

// BenchmarkRenderSignup renders the registration mail with an
// organization's colours, as each signup job does.
func BenchmarkRenderSignup(b *testing.B) {
	tpl, err := LoadTemplates("")
	if err != nil {
		b.Fatal(err)
	}
	colours := brand.Of("#0055aa")
	data := SignupData{Link: "https://x.example/register?token=abc", Organization: "Acme", ExpiresIn: "24 hours"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.RenderIn("en", colours, TemplateSignup, data); err != nil {
			b.Fatal(err)
		}
	}
}
