package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

// onboard killed with SIGKILL during a burst of registrations (back-office
// customers, each one transaction with its customer.created and
// user.created events), then started again: every committed change's
// events reach the webhook receiver at least once, and no event tells of a
// change that was rolled back (duplicates refused with 409, or cut off by
// the kill).
func TestEventsSurviveKill9(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		const adminKey = "kill9-admin-key-0123456789"
		env := []string{"ONBOARD_DB=" + dsn, "ONBOARD_ADMIN_KEY=" + adminKey, "ONBOARD_OUTBOUND_ALLOW_PRIVATE=true",
			"ONBOARD_WEBHOOK_RETRY_BASE=100ms", "ONBOARD_WEBHOOK_RETRY_MAX=500ms",
			// The killed process's claimed deliveries come back after the lease.
			"ONBOARD_WEBHOOK_LEASE=3s", "ONBOARD_SECRET_KEY=k1:dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="}

		var mu sync.Mutex
		received := map[string]events.Event{}
		var secret atomic.Value
		secret.Store("")
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := webhooks.Verify(secret.Load().(string), r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
				r.Header.Get("webhook-signature"), body, time.Now(), 5*time.Minute); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			e, err := events.Parse(body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			mu.Lock()
			received[e.ID] = e
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		defer rcv.Close()

		addr := freeAddr(t)
		p := spawn(t, addr, env...)
		admin := func(method, path string, body any) (int, []byte, error) {
			raw, _ := json.Marshal(body)
			req, _ := http.NewRequest(method, p.base+"/api/v1/admin/organizations/default"+path, bytes.NewReader(raw))
			req.Header.Set("Authorization", "Bearer "+adminKey)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return 0, nil, err
			}
			defer res.Body.Close()
			out, _ := io.ReadAll(res.Body)
			return res.StatusCode, out, nil
		}
		status, body, err := admin("POST", "/webhooks", map[string]any{"url": rcv.URL + "/hook"})
		if err != nil || status != http.StatusCreated {
			t.Fatalf("create webhook: %d %s %v", status, body, err)
		}
		var hook struct{ Secret string }
		_ = json.Unmarshal(body, &hook)
		secret.Store(hook.Secret)

		// The burst: 1,000 registrations from 8 clients, one in ten a
		// duplicate (refused, rolled back); SIGKILL after 400 answers.
		const total, clients = 1000, 8
		var answered, created, refused atomic.Int64
		next := atomic.Int64{}
		var cutMu sync.Mutex
		var cut []int64 // requests without an answer: sent again after the restart
		register := func(i int64) error {
			email := fmt.Sprintf("user%d@burst.example", i)
			if i%10 == 9 {
				email = fmt.Sprintf("user%d@burst.example", i-1) // duplicate
			}
			status, _, err := admin("POST", "/customers", map[string]any{"type": "business", "name": fmt.Sprintf("Burst %d", i),
				"user": map[string]any{"email": email, "first_name": "Kill", "last_name": "Nine"}})
			if err != nil {
				return err
			}
			switch status {
			case http.StatusCreated:
				created.Add(1)
			case http.StatusConflict:
				refused.Add(1)
			default:
				t.Errorf("status %d", status)
			}
			return nil
		}
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= total {
						return
					}
					if err := register(i); err != nil {
						cutMu.Lock()
						cut = append(cut, i) // cut off by the kill: committed or not
						cutMu.Unlock()
						continue
					}
					if answered.Add(1) == 400 {
						_ = p.cmd.Process.Signal(syscall.SIGKILL)
					}
				}
			})
		}
		wg.Wait()
		<-p.exited
		if created.Load() == 0 || refused.Load() == 0 {
			t.Fatalf("burst: %d created, %d refused", created.Load(), refused.Load())
		}

		// Restart and finish the burst: what the kill cut off is sent again
		// (a registration that had committed is now refused as a duplicate).
		p = spawn(t, addr, env...)
		for _, i := range cut {
			if err := register(i); err != nil {
				t.Fatal(err)
			}
		}
		st, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		org, err := st.OrganizationByName(context.Background(), "default")
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.EventsOfOrg(context.Background(), org.ID)
		if err != nil {
			t.Fatal(err)
		}
		var customers int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM accounts WHERE kind = 'customer'`).Scan(&customers); err != nil {
			t.Fatal(err)
		}
		if int64(customers) < created.Load() || len(stored) != 2*customers {
			t.Fatalf("%d customers (%d answered 201), %d events stored; want two events per customer", customers, created.Load(), len(stored))
		}
		deadline := time.Now().Add(30 * time.Second)
		missing := len(stored)
		for time.Now().Before(deadline) {
			mu.Lock()
			missing = 0
			for _, e := range stored {
				if _, ok := received[e.ID]; !ok {
					missing++
				}
			}
			mu.Unlock()
			if missing == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if missing > 0 {
			t.Fatalf("%d of %d committed events never delivered", missing, len(stored))
		}
		// Nothing delivered for a change that is not in the database.
		mu.Lock()
		defer mu.Unlock()
		for _, e := range received {
			table := "users"
			if e.Type == events.TypeCustomerCreated {
				table = "accounts"
			}
			var n int
			if err := st.DB().QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE id = $1`, e.Subject).Scan(&n); err != nil || n != 1 {
				t.Errorf("event %s (%s) about %s, which is not in %s", e.ID, e.Type, e.Subject, table)
			}
		}
		t.Logf("%d registrations answered 201, %d refused, %d committed; %d events delivered", created.Load(), refused.Load(), customers, len(received))
	})
}
