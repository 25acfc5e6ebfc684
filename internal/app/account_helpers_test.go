package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/httpapi"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

// Helpers of the account-management tests.

// as sends a request with a bearer token ("" sends none).
func (e *env) as(token, method, path string, body any) response {
	e.t.Helper()
	if token == "" {
		return e.do(method, path, body)
	}
	return e.do(method, path, body, "Authorization", "Bearer "+token)
}

// member is a signed-in user of an account.
type member struct {
	email, id, account, token string
}

// registerMember registers a business customer for email and signs in.
func (e *env) registerMember(email string) member {
	e.t.Helper()
	token := e.startSignup(email, "customer_business")
	r := e.do("POST", "/api/v1/signups/"+token, e.completion(token, "customer_business"))
	expect(e.t, r, http.StatusCreated)
	reg := payloadOf[httpapi.Registration](e.t, r)
	return member{email: email, id: reg.User.ID, account: reg.Customer.ID, token: e.login(email, goodPassword)}
}

// mails returns the number of messages received so far, to wait for newer ones.
func (e *env) mails() int { return len(e.smtp.Messages()) }

// mailSince waits for a message to addr received after the first n whose
// text contains substr.
func (e *env) mailSince(n int, addr, substr string) smtptest.Message {
	e.t.Helper()
	return e.smtp.WaitFor(e.t, 10*time.Second, func(m smtptest.Message) bool {
		return len(m.To) == 1 && strings.EqualFold(m.To[0], addr) && strings.Contains(m.Text, substr) &&
			!containsMessage(e.smtp.Messages()[:n], m.MessageID)
	})
}

// linkSince waits for a mail to addr after the first n messages with a link
// to path (e.g. "/invitation") and returns the link's token.
func (e *env) linkSince(n int, addr, path string) string {
	e.t.Helper()
	prefix := e.base + path + "?token="
	msg := e.mailSince(n, addr, prefix)
	u, err := url.Parse(msg.Link(prefix))
	if err != nil {
		e.t.Fatal(err)
	}
	tok := u.Query().Get("token")
	if !auth.WellFormedToken(tok) {
		e.t.Fatalf("no token in the link of:\n%s", msg.Text)
	}
	return tok
}

// invite invites addr to the member's customer and returns the invitation
// id and the token of the mailed link.
func (e *env) invite(by member, addr, userType string) (id, token string) {
	e.t.Helper()
	n := e.mails()
	r := e.as(by.token, "POST", "/api/v1/customers/"+by.account+"/invitations", map[string]any{"email": addr, "user_type": userType})
	expect(e.t, r, http.StatusCreated)
	return payloadOf[httpapi.Invitation](e.t, r).ID, e.linkSince(n, addr, "/invitation")
}

// invitationBody is a valid completion of the invitation with token.
func (e *env) invitationBody(token string) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/api/v1/invitations/"+token, nil)
	expect(e.t, r, http.StatusOK)
	var ids []string
	for _, a := range payloadOf[httpapi.InvitationForm](e.t, r).Agreements {
		ids = append(ids, a.ID)
	}
	return map[string]any{
		"user":     map[string]any{"first_name": "Charles", "last_name": "Babbage"},
		"password": goodPassword, "accepted_agreements": ids,
	}
}

// join invites addr to the member's customer, accepts and signs in.
func (e *env) join(by member, addr, userType string) member {
	e.t.Helper()
	_, tok := e.invite(by, addr, userType)
	r := e.do("POST", "/api/v1/invitations/"+tok, e.invitationBody(tok))
	expect(e.t, r, http.StatusCreated)
	u := payloadOf[httpapi.InvitedUser](e.t, r).User
	return member{email: addr, id: u.ID, account: by.account, token: e.login(addr, goodPassword)}
}

// exec runs a statement on the app's database.
func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.app.Store().DB().Exec(query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// countWhere counts the rows of a table matching a condition.
func (e *env) countWhere(table, where string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE `+where, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// expire moves the expiry of every row of table into the past.
func (e *env) expire(table string) {
	e.t.Helper()
	e.exec(`UPDATE `+table+` SET expires_at = $1`, store.Now().Add(-time.Minute))
}

// partnerAdmin creates, directly in the store, an active channel partner and
// its administrator (user type partner_admin), and signs in.
func (e *env) partnerAdmin(email, name string) member {
	e.t.Helper()
	ctx := context.Background()
	st := e.app.Store()
	org, err := st.OrganizationByName(ctx, "default")
	if err != nil {
		e.t.Fatal(err)
	}
	ut, err := st.UserTypeByName(ctx, org.ID, "partner_admin")
	if err != nil {
		e.t.Fatal(err)
	}
	params := auth.DefaultParams()
	params.Memory, params.Time = uint32(e.cfg.Argon2Memory), uint32(e.cfg.Argon2Time)
	hash, err := auth.NewHasher(params, 1).Hash(ctx, goodPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	now := store.Now()
	acct := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: domain.KindPartner, Type: domain.PartnerChannel, Name: name,
		Status: domain.StatusActive, Origin: domain.OriginBackOffice, CreatedAt: now, UpdatedAt: now}
	u := domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, UserTypeID: ut.ID, Email: email, FirstName: "Pat",
		LastName: "Partner", PasswordHash: hash, Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		all, err := tx.CurrentAgreements(ctx, org.ID)
		if err != nil {
			return err
		}
		for _, a := range all {
			if a.Targets(domain.AccountChannelPartner) {
				if err := tx.CreateAcceptance(ctx, domain.Acceptance{ID: store.NewID(), OrgID: org.ID, UserID: u.ID, AgreementID: a.ID,
					Name: a.Name, Version: a.Version, AcceptedAt: now}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return member{email: email, id: u.ID, account: acct.ID, token: e.login(email, goodPassword)}
}

// problemType returns the slug of a problem answer.
func problemType(t *testing.T, r response) string {
	t.Helper()
	typ, _ := r.json(t)["type"].(string)
	return strings.TrimPrefix(typ, "https://onboard.dev/problems/")
}
