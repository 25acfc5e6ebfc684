package store

import (
	"context"
	"fmt"
	"strings"
)

// ActorKind tells what an audit entry's actor is, for the console to name
// it in the reader's language.
type ActorKind string

// The actors ActorNames resolves.
const (
	ActorBackOffice       ActorKind = "backoffice"        // "backoffice:<user id>": a back-office user, named by email
	ActorAdminKey         ActorKind = "admin_key"         // "admin:<key id>:<name>": an admin API key, named by its label
	ActorClient           ActorKind = "client"            // "client:<client id>": a B2B client, named by its name
	ActorUser             ActorKind = "user"              // "user:<user id>": a customer's user, named by name, with the email as detail
	ActorEndUser          ActorKind = "end_user"          // "end_user:<id>": a B2B end user, named by email, else external id
	ActorInstallationCode ActorKind = "installation_code" // "installation_code:<id>": named by platform, with the bound account's name as detail
)

// ActorName is the person, key or code behind an audit entry's actor: Name
// names it, Detail (possibly "") tells it apart, such as a user's email.
// Either may be "" (a user without a name), not both.
type ActorName struct {
	Kind   ActorKind
	Name   string
	Detail string
}

// ParseActor splits an audit actor into the kind ActorNames resolves and
// the id it looks up; ok is false for the other actors ("system",
// "admin:environment", "nats:<subject>", …).
func ParseActor(actor string) (kind ActorKind, id string, ok bool) {
	prefix, rest, found := strings.Cut(actor, ":")
	if !found || rest == "" {
		return "", "", false
	}
	switch prefix {
	case "backoffice":
		return ActorBackOffice, rest, true
	case "client":
		return ActorClient, rest, true
	case "user":
		return ActorUser, rest, true
	case "end_user":
		return ActorEndUser, rest, true
	case "installation_code":
		return ActorInstallationCode, rest, true
	case "admin":
		if id, _, found := strings.Cut(rest, ":"); found && id != "" {
			return ActorAdminKey, id, true
		}
	}
	return "", "", false
}

// ActorNames names the actors of an organization's audit entries in one
// statement, by actor as written in the log: back-office users (any
// organization's, as supervisors act for others), and the organization's
// admin keys, B2B clients, users, B2B end users and installation codes.
// Actors of other kinds, and those no longer stored, are missing from the
// map (a deleted admin key keeps the name written in its actor).
func (q Queries) ActorNames(ctx context.Context, orgID string, actors []string) (map[string]ActorName, error) {
	ids := map[ActorKind][]string{}
	seen := map[string]bool{}
	for _, a := range actors {
		kind, id, ok := ParseActor(a)
		if !ok || seen[string(kind)+":"+id] {
			continue
		}
		seen[string(kind)+":"+id] = true
		ids[kind] = append(ids[kind], id)
	}
	out := map[string]ActorName{}
	if len(ids) == 0 {
		return out, nil
	}
	var args []any
	var parts []string
	for _, sel := range []struct {
		kind  ActorKind
		query string // %[1]s: the organization's placeholder, %[2]s: the ids'; columns kind, id, name, detail
	}{
		{ActorBackOffice, `SELECT 'backoffice', id, email, '' FROM backoffice_users WHERE id IN (%[2]s)`},
		{ActorAdminKey, `SELECT 'admin_key', id, name, '' FROM admin_keys WHERE org_id = %[1]s AND id IN (%[2]s)`},
		{ActorClient, `SELECT 'client', client_id, name, '' FROM b2b_clients WHERE org_id = %[1]s AND client_id IN (%[2]s)`},
		{ActorUser, `SELECT 'user', id, first_name || ' ' || last_name, email FROM users WHERE org_id = %[1]s AND id IN (%[2]s)`},
		{ActorEndUser, `SELECT 'end_user', id, CASE WHEN email <> '' THEN email ELSE COALESCE(external_id, '') END, ''
			FROM b2b_end_users WHERE org_id = %[1]s AND id IN (%[2]s)`},
		{ActorInstallationCode, `SELECT 'installation_code', c.id, c.platform, COALESCE(a.name, '')
			FROM installation_codes c LEFT JOIN accounts a ON a.id = c.account_id WHERE c.org_id = %[1]s AND c.id IN (%[2]s)`},
	} {
		if len(ids[sel.kind]) == 0 {
			continue
		}
		org := ""
		if sel.kind != ActorBackOffice {
			args = append(args, orgID)
			org = fmt.Sprintf("$%d", len(args))
		}
		ph, more := placeholders(ids[sel.kind], len(args)+1)
		args = append(args, more...)
		parts = append(parts, fmt.Sprintf(sel.query, org, ph))
	}
	query := strings.Join(parts, " UNION ALL ")
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit actor names: %w", err)
	}
	defer rows.Close()
	byID := map[string]ActorName{}
	for rows.Next() {
		var kind, id string
		var n ActorName
		if err := rows.Scan(&kind, &id, &n.Name, &n.Detail); err != nil {
			return nil, fmt.Errorf("audit actor names: %w", err)
		}
		n.Kind, n.Name = ActorKind(kind), strings.TrimSpace(n.Name)
		if n.Name != "" || n.Detail != "" {
			byID[kind+":"+id] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit actor names: %w", err)
	}
	for _, a := range actors {
		if kind, id, ok := ParseActor(a); ok {
			if n, found := byID[string(kind)+":"+id]; found {
				out[a] = n
			} else if _, name, _ := strings.Cut(strings.TrimPrefix(a, "admin:"+id), ":"); kind == ActorAdminKey && name != "" {
				out[a] = ActorName{Kind: kind, Name: name} // a deleted key: its name when it acted
			}
		}
	}
	return out, nil
}
