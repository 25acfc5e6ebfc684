package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func TestImportProductsCommand(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		cmd := func(args ...string) (string, string, error) {
			var out, errOut bytes.Buffer
			err := run(ctx, append(args, "--db", dsn), testGetenv, &out, &errOut)
			return out.String(), errOut.String(), err
		}
		dir := t.TempDir()
		csvFile := filepath.Join(dir, "products.csv")
		var b strings.Builder
		b.WriteString("serial_number,model,connection_token,metadata.batch\n")
		for i := range 1500 {
			fmt.Fprintf(&b, "SN-%05d,Heat pump,tok-%d,B1\n", i, i)
		}
		b.WriteString("bad serial,Heat pump,,\n")
		if err := os.WriteFile(csvFile, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			args    []string
			wantErr bool
			want    string // in stdout
		}{
			{"csv", []string{"--file", csvFile}, false, `{"summary":{"created":1500,"unchanged":0,"rejected":1}}`},
			{"again", []string{"--file", csvFile, "--quiet"}, false, `{"summary":{"created":0,"unchanged":1500,"rejected":1}}`},
			{"no file", nil, true, ""},
			{"missing file", []string{"--file", filepath.Join(dir, "nope.csv")}, true, ""},
			{"unknown organization", []string{"--org", "nope", "--file", csvFile}, true, ""},
			{"bad format", []string{"--file", csvFile, "--format", "xml"}, true, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, _, err := cmd(append([]string{"import", "products"}, tt.args...)...)
				if (err != nil) != tt.wantErr {
					t.Fatalf("err = %v, want error %v", err, tt.wantErr)
				}
				if !strings.Contains(out, tt.want) {
					t.Errorf("stdout = %q, want %q", out, tt.want)
				}
				if tt.want != "" && !strings.Contains(out, `"line":1502,"status":"rejected"`) {
					t.Errorf("stdout = %q, want the rejected line", out)
				}
			})
		}
		st, err := store.Open(ctx, dsn, store.WithKeyring(testKeyring(t)))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		org, err := st.OrganizationByName(ctx, flows.DefaultOrganization)
		if err != nil {
			t.Fatal(err)
		}
		p, err := st.ProductBySerial(ctx, org.ID, "SN-01499")
		if err != nil || p.TokenHash == nil || p.Metadata["batch"] != "B1" {
			t.Errorf("imported product = %+v, %v", p, err)
		}
	})
}
