package importline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/domain"
)

type item struct {
	num int
	val string
	err string
}

// run imports in with a pipeline whose items are the lines' texts (a line
// "bad" is rejected) and answers "num:val" or "num!err".
func run(t *testing.T, format, in string, batch int, storeErr error) ([]string, [][]int, error) {
	t.Helper()
	var out []string
	var batches [][]int
	err := Pipeline[item, string]{
		Format: format, BatchSize: batch,
		Header: func(line []byte) ([]string, error) { return CSVHeader(line) },
		Parse: func(_ context.Context, num int, line []byte, header []string) (item, error) {
			v := string(line)
			if header != nil {
				rec, err := CSVLine(header, line)
				if err != nil {
					return item{num: num, err: err.Error()}, nil
				}
				v = strings.Join(rec, "|")
			}
			if v == "fatal" {
				return item{}, errors.New("fatal line")
			}
			if v == "bad" {
				return item{num: num, err: "bad line"}, nil
			}
			return item{num: num, val: v}, nil
		},
		Reject: func(num int, msg string) item { return item{num: num, err: msg} },
		Valid:  func(it item) bool { return it.err == "" },
		Store: func(_ context.Context, items []item) ([]string, error) {
			var nums []int
			rs := make([]string, len(items))
			for i, it := range items {
				nums = append(nums, it.num)
				if it.err != "" {
					rs[i] = fmt.Sprintf("%d!%s", it.num, it.err)
				} else {
					rs[i] = fmt.Sprintf("%d:%s", it.num, it.val)
				}
			}
			batches = append(batches, nums)
			return rs, storeErr
		},
	}.Run(context.Background(), strings.NewReader(in), func(r string) error {
		out = append(out, r)
		return nil
	})
	return out, batches, err
}

func TestPipeline(t *testing.T) {
	long := strings.Repeat("x", MaxLine+10)
	for _, tt := range []struct {
		name, format, in string
		batch            int
		want             string
		batches          string
		wantErr          string
	}{
		{"ndjson in order, blank lines counted but not answered", NDJSON, "a\n\n  \nb\r\nc", 2, "1:a 4:b 5:c", "[[1 4] [5]]", ""},
		{"rejected lines do not fill a batch", NDJSON, "bad\nbad\na\nbad\nb\nc", 2, "1!bad line 2!bad line 3:a 4!bad line 5:b 6:c", "[[1 2 3 4 5] [6]]", ""},
		{"at most 4×batch items", NDJSON, "bad\nbad\nbad\nbad\nbad\na", 1, "1!bad line 2!bad line 3!bad line 4!bad line 5!bad line 6:a", "[[1 2 3 4] [5 6]]", ""},
		{"a too long line is rejected, the next read", NDJSON, "a\n" + long + "\nb\n", 10, fmt.Sprintf("1:a 2!line: longer than %d bytes 3:b", MaxLine), "[[1 2 3]]", ""},
		{"csv header, then records", CSV, "\ufeff a , b\n1,2\n3\n", 10, "2:1|2 3!line: has 1 fields, the header 2", "[[2 3]]", ""},
		{"a bad csv header ends the import", CSV, "\"a\n1\n", 10, "", "[]", "csv header: line: is not a CSV record"},
		{"a fatal parse error ends the import after the batches before it", NDJSON, "a\nb\nfatal\nc\n", 2, "1:a 2:b", "[[1 2]]", "fatal line"},
		{"empty", NDJSON, "", 2, "", "[]", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, batches, err := run(t, tt.format, tt.in, tt.batch, nil)
			if got := strings.Join(out, " "); got != tt.want {
				t.Errorf("answers %q, want %q", got, tt.want)
			}
			if got := fmt.Sprint(batches); got != tt.batches && !(tt.batches == "[]" && batches == nil) {
				t.Errorf("batches %s, want %s", got, tt.batches)
			}
			if (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	t.Run("a store error ends the import unanswered", func(t *testing.T) {
		out, _, err := run(t, NDJSON, "a\nb\nc\n", 1, errors.New("db down"))
		if err == nil || err.Error() != "db down" || len(out) != 0 {
			t.Fatalf("answers %q, error %v", out, err)
		}
	})
	t.Run("an emit error stops the import", func(t *testing.T) {
		n := 0
		err := Pipeline[item, string]{Format: NDJSON, BatchSize: 1,
			Parse:  func(_ context.Context, num int, line []byte, _ []string) (item, error) { return item{num: num}, nil },
			Reject: func(num int, msg string) item { return item{num: num} },
			Store:  func(_ context.Context, items []item) ([]string, error) { return []string{"x"}, nil },
		}.Run(context.Background(), strings.NewReader(strings.Repeat("a\n", 1000)), func(string) error {
			n++
			return errors.New("client gone")
		})
		if err == nil || err.Error() != "client gone" || n != 1 {
			t.Fatalf("emitted %d, error %v", n, err)
		}
	})
}

func TestDecodeJSON(t *testing.T) {
	type inner struct {
		X int `json:"x"`
	}
	type v struct {
		Name  string `json:"name"`
		Inner inner  `json:"inner"`
	}
	for _, tt := range []struct{ in, want string }{
		{`{"name":"a","inner":{"x":1}}`, ""},
		{`{"name":"a","name":"b"}`, "name: is given more than once"},
		{`{"Name":"a"}`, "Name: is not a known field"},
		{`{"inner":{"y":1}}`, "inner.y: is not a known field"},
		{`{"inner":{"x":"1"}}`, "inner.x: has the wrong type"},
		{"{\"name\":\"\xff\"}", "line: is not valid UTF-8"},
		{`[1]`, "line: must hold exactly one JSON object"},
		{`{} {}`, "line: must hold exactly one JSON object"},
	} {
		var got v
		err := DecodeJSON([]byte(tt.in), &got)
		if (err == nil) != (tt.want == "") || (err != nil && err.Error() != tt.want) {
			t.Errorf("%s: error %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{errors.New("plain"), "plain"},
		{domain.Invalid(domain.FieldError{Field: "a", Message: "is required"}, domain.FieldError{Field: "b.c", Message: "is too long"}),
			"a: is required; b.c: is too long"},
		{domain.Errorf(domain.EBadRequest, "x", "Only a detail."), "Only a detail."},
	} {
		if got := FieldErrors(tt.err); got != tt.want {
			t.Errorf("FieldErrors(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
