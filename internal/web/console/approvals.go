package console

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// pending is one data recipient of the approval queue with its forms.
type pending struct {
	flows.PendingAccount
	Approve form
	Reject  form
}

// approvalsData is the approval queue page.
type approvalsData struct {
	Pending []pending
}

func (c *Console) approvalsData(rq *req, list []flows.PendingAccount, failedID, reason string) approvalsData {
	d := approvalsData{}
	for _, a := range list {
		p := pending{PendingAccount: a,
			Approve: form{Action: rq.OrgPath("/approvals/" + a.Account.ID + "/approve"), Submit: rq.T("console.approvals.approve")},
			Reject: form{Action: rq.OrgPath("/approvals/" + a.Account.ID + "/reject"), Submit: rq.T("console.approvals.reject"), Fields: []*field{
				{Name: "reason", ID: "f-reason-" + a.Account.ID, Label: rq.T("console.approvals.reason"), Kind: "textarea", Required: true,
					Hint: rq.T("console.approvals.reason_hint")}}},
		}
		if a.Account.ID == failedID {
			p.Reject.Fields[0].Value = reason
		}
		d.Pending = append(d.Pending, p)
	}
	return d
}

func (c *Console) getApprovals(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	list, err := c.flows.PendingApprovals(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := view{Title: rq.T("console.approvals.title"), Data: c.approvalsData(rq, list, "", "")}
	if !v.doneLead(r, "approvals") && len(list) == 0 {
		v.Lead = rq.T("console.approvals.none")
	}
	c.render(w, r, http.StatusOK, "approvals", v)
}

// postDecision approves or rejects a data recipient; a rejection's reason
// is required and mailed to its users.
func (c *Console) postDecision(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	id, decision := r.PathValue("id"), r.PathValue("decision")
	var err error
	switch decision {
	case "approve":
		_, err = c.flows.ApproveAccount(r.Context(), rq.P.Admin(), rq.Org, id)
	case "reject":
		_, err = c.flows.RejectAccount(r.Context(), rq.P.Admin(), rq.Org, id, r.PostForm.Get("reason"))
	default:
		c.notFound(w, r)
		return
	}
	if err == nil {
		http.Redirect(w, r, rq.OrgPath("/approvals?done="+decision+"d"), http.StatusSeeOther)
		return
	}
	de := domain.AsError(err)
	if de == nil || de.Code != domain.EInvalid {
		c.fail(w, r, err)
		return
	}
	list, lerr := c.flows.PendingApprovals(r.Context(), rq.Org)
	if lerr != nil {
		c.fail(w, r, lerr)
		return
	}
	d := c.approvalsData(rq, list, id, r.PostForm.Get("reason"))
	var errs []string
	for _, p := range d.Pending {
		if p.Account.ID == id {
			errs = c.applyErrors(rq, p.Reject.Fields, de)
		}
	}
	c.render(w, r, httpx.Status(de.Code), "approvals", view{Title: rq.T("console.approvals.title"), Errors: errs, Data: d})
}
