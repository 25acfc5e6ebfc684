package domain

import "time"

// States of an import run.
const (
	ImportQueued  = "queued"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportRun is a bulk import of end users from an uploaded file, run in the
// background; its progress is kept in the database so that any node can
// show it.
type ImportRun struct {
	ID     string
	OrgID  string
	Actor  string // who started it, as in the audit log
	File   string // the uploaded file's name
	Format string // ndjson or csv
	// LabelpartnerID is the labelpartner of lines that name none ("": none).
	LabelpartnerID string
	State          string
	// RowsTotal is the number of rows counted at the upload (0: unknown).
	RowsTotal, RowsDone          int64
	Created, Unchanged, Rejected int64
	// Rate is rows per second so far.
	Rate       int64
	Error      string
	CreatedAt  time.Time
	StartedAt  *time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
	LeaseUntil time.Time
}

// Finished reports whether the run is done or failed.
func (r ImportRun) Finished() bool { return r.State == ImportDone || r.State == ImportFailed }

// Percent is the share of rows done, 0 to 100.
func (r ImportRun) Percent() int64 {
	switch {
	case r.State == ImportDone:
		return 100
	case r.RowsTotal <= 0:
		return 0
	}
	return min(100, r.RowsDone*100/r.RowsTotal)
}

// ImportRejection is a rejected line of an import run.
type ImportRejection struct {
	Line  int64
	Error string
}
