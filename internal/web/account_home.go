package web

import "net/http"

// accountRoutes registers the signed-in area.
func (p *Pages) accountRoutes(mux *http.ServeMux) {
	p.handle(mux, "GET /account", p.requireSignedIn(p.getAccount))
}

// getAccount is the landing page of the signed-in area.
func (p *Pages) getAccount(w http.ResponseWriter, r *http.Request, rq *req) {
	u := rq.Principal.User
	p.render(w, r, http.StatusOK, "account", view{Title: rq.T("account.home.title"),
		Lead: rq.T("account.home.lead", "Name", u.FirstName+" "+u.LastName, "Email", u.Email)})
}
