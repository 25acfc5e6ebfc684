package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

type importLine struct {
	Line    int            `json:"line"`
	Status  string         `json:"status"`
	ID      string         `json:"id"`
	Error   string         `json:"error"`
	Summary map[string]int `json:"summary"`
}

func (w *b2bWorld) importNDJSON(t *testing.T, token, query, body string) ([]importLine, map[string]int) {
	t.Helper()
	r := w.e.do("POST", "/api/v1/b2b/end-users/import"+query, body, "Content-Type", "application/x-ndjson", "Authorization", "Bearer "+token)
	expect(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("Content-Type %q", ct)
	}
	var lines []importLine
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		var l importLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("answer line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 || lines[len(lines)-1].Summary == nil {
		t.Fatalf("no summary line: %s", r.body)
	}
	return lines[:len(lines)-1], lines[len(lines)-1].Summary
}

func TestB2BImport(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")
		existing := w.provision(t, endUser("existing@example.com", "lp-pin"))
		expect(t, e.admin(w.clientB, "POST", "/api/v1/b2b/end-users", endUser("theirs@example.com", "lp-other")), http.StatusCreated)

		var in strings.Builder
		want := map[int]string{}
		add := func(status, line string) {
			in.WriteString(line + "\n")
			want[len(want)+1] = status
		}
		for i := range 1500 { // more than one batch
			add("created", fmt.Sprintf(`{"email":"user%d@example.com","first_name":"U","last_name":"%d","labelpartner":"lp-pw","order":{"voucher_code":"V%d"},"customer":{"n":%d}}`, i, i, i, i))
		}
		add("rejected", `{"email":"broken@example.com",`)                                                       // not JSON
		add("rejected", `{"email":"not-an-address","first_name":"A","last_name":"B","labelpartner":"lp-pin"}`)  // invalid email
		add("rejected", `{"email":"x@example.com","first_name":"A","last_name":"B","labelpartner":"lp-other"}`) // not the client's
		add("rejected", `{"email":"y@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pin","shoe_size":44}`)
		add("rejected", `{"email":"z@example.com","first_name":"`+strings.Repeat("a", 70<<10)+`"}`) // too long
		add("created", `{"email":"nolp@example.com","first_name":"A","last_name":"B"}`)             // default labelpartner
		add("unchanged", `{"email":"EXISTING@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pin"}`)
		add("unchanged", `{"email":"user1@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pw"}`)  // twice in the file
		add("rejected", `{"email":"theirs@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pin"}`) // another client's
		add("created", `{"email":"ext1@example.com","first_name":"A","last_name":"B","labelpartner":"lp-sso","external_authentication_provider_id":"e-1"}`)
		add("rejected", `{"email":"ext2@example.com","first_name":"A","last_name":"B","labelpartner":"lp-sso","external_authentication_provider_id":"e-1"}`)
		add("rejected", `{"email":"list@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pin","customer":[1]}`)
		add("rejected", `{"email":"str@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pin","installation":"meter"}`)
		add("created", `{"email":"nulls@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pin","customer":null,"installation":{ "meter_id" : "E1" }}`)
		in.WriteString("\n   \n") // blank lines are skipped
		lines, sum := w.importNDJSON(t, w.clientA, "?labelpartner=lp-def", in.String())
		if len(lines) != len(want) {
			t.Fatalf("%d answer lines for %d input lines", len(lines), len(want))
		}
		counts := map[string]int{}
		for i, l := range lines {
			if l.Line != i+1 || l.Status != want[i+1] {
				t.Fatalf("line %d: %+v, want %s", i+1, l, want[i+1])
			}
			if (l.Status == "rejected") != (l.Error != "") || (l.Status != "rejected") != (l.ID != "") {
				t.Fatalf("line %d: %+v", i+1, l)
			}
			counts[l.Status]++
		}
		if lines[1506].ID != existing || lines[1507].ID != lines[1].ID {
			t.Fatalf("unchanged lines name %s and %s", lines[1506].ID, lines[1507].ID)
		}
		if sum["created"] != counts["created"] || sum["unchanged"] != counts["unchanged"] || sum["rejected"] != counts["rejected"] || sum["created"] != 1503 {
			t.Fatalf("summary %v, counted %v", sum, counts)
		}
		// The imported end users are there, with their details.
		r := e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+lines[7].ID, nil)
		expect(t, r, http.StatusOK)
		if m := r.json(t); m["email"] != "user7@example.com" || field(m, "order", "voucher_code") != "V7" || field(m, "customer", "n") != float64(7) || m["labelpartner"] != "lp-pw" {
			t.Fatalf("imported end user %s", r.body)
		}
		r = e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+lines[1505].ID, nil)
		if r.json(t)["labelpartner"] != "lp-def" {
			t.Fatalf("default labelpartner: %s", r.body)
		}
		if l := lines[len(lines)-1]; l.Status != "created" {
			t.Fatalf("last line %+v", l)
		} else {
			r = e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+l.ID, nil)
			if m := r.json(t); m["customer"] != nil || field(m, "installation", "meter_id") != "E1" {
				t.Fatalf("null customer and an installation: %s", r.body)
			}
		}
		for _, i := range []int{len(lines) - 3, len(lines) - 2} {
			if !strings.Contains(lines[i].Error, "must be an object") {
				t.Errorf("line %d: %+v, want an error saying the details must be an object", i+1, lines[i])
			}
		}

		// A re-run creates nothing.
		lines2, sum2 := w.importNDJSON(t, w.clientA, "?labelpartner=lp-def", in.String())
		if sum2["created"] != 0 || sum2["unchanged"] != 1503+2 || sum2["rejected"] != sum["rejected"] {
			t.Fatalf("re-run summary %v", sum2)
		}
		for i, l := range lines2 {
			if l.Status == "unchanged" && lines[i].Status == "created" && l.ID != lines[i].ID {
				t.Fatalf("line %d: id %s, first run %s", i+1, l.ID, lines[i].ID)
			}
		}
		if n := e.countWhere("b2b_end_users", "email_lower LIKE 'user%'"); n != 1500 {
			t.Fatalf("%d imported users in the table, want 1500", n)
		}

		// The JSON report, and the request errors.
		r = e.do("POST", "/api/v1/b2b/end-users/import", "{\"email\":1}\n", "Content-Type", "application/x-ndjson", "Accept", "application/json", "Authorization", "Bearer "+w.clientA)
		expect(t, r, http.StatusOK)
		if m := r.json(t); field(m, "summary", "rejected") != float64(1) || len(m["rejected"].([]any)) != 1 {
			t.Fatalf("report %s", r.body)
		}
		checkProblem(t, e.do("POST", "/api/v1/b2b/end-users/import", "{}", "Content-Type", "application/json", "Authorization", "Bearer "+w.clientA), 415, "")
		checkProblem(t, e.do("POST", "/api/v1/b2b/end-users/import", "{}", "Content-Type", "application/x-ndjson"), 401, "")

		// CSV with a header row.
		csv := "email,first_name,last_name,labelpartner,create_verified_user,voucher_code,customer.number,installation.meter\n" +
			"csv1@example.com,Ada,Lovelace,lp-pin,true,V1,C1,M1\n" +
			"\"csv2@example.com\",\"Grace, B.\",Hopper,lp-pin,false,,C2,M2\n" +
			"csv3@example.com,Bad,Row,lp-pin,maybe,,,\n" +
			"csv4@example.com,Too,Few\n"
		r = e.do("POST", "/api/v1/b2b/end-users/import", csv, "Content-Type", "text/csv", "Accept", "application/json", "Authorization", "Bearer "+w.clientA)
		expect(t, r, http.StatusOK)
		if m := r.json(t); field(m, "summary", "created") != float64(2) || field(m, "summary", "rejected") != float64(2) {
			t.Fatalf("csv report %s", r.body)
		}
	})
}
