package domain

import "time"

// PermThingsActivate lets a customer's user activate products into the
// customer's locations.
const PermThingsActivate = "things.activate"

// Product states.
const (
	ProductUnassigned = "UNASSIGNED"
	ProductActive     = "ACTIVE"
)

// Product is a product an organization made, known by its serial number.
// While a customer owns it (state ACTIVE) it is that customer's thing:
// ThingID, AccountID and LocationID are set.
type Product struct {
	ID           string
	OrgID        string
	SerialNumber string
	Model        string
	Metadata     map[string]string
	// TokenHash is the salted SHA-256 of the connection token; nil when
	// the product has none.
	TokenHash   []byte
	State       string
	ThingID     string
	AccountID   string
	LocationID  string
	Name        string
	ActivatedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}
