package httpapi

import (
	"time"

	"github.com/onboard-dev/onboard/internal/things"
)

// Payloads of products and things. The OpenAPI document's component
// schemas are generated from them (openapi_schemas.go).

// CreateProductRequest is a product the organization registers.
type CreateProductRequest struct {
	// Unique in the organization: 1 to 64 letters, digits and . _ : / -, starting with a letter or digit.
	SerialNumber string `json:"serial_number" jsonschema:"minLength=1,maxLength=64,pattern=^[A-Za-z0-9][A-Za-z0-9._:/-]*$,example=HP-2026-000123"`
	Model        string `json:"model" jsonschema:"minLength=1,maxLength=100,example=Heat pump X200"`
	// Proves physical possession at activation; only a salted hash of it is kept.
	ConnectionToken string `json:"connection_token,omitempty" jsonschema:"maxLength=256"`
	// Free key/value pairs of the organization: at most 50; keys 1 to 64 letters, digits and . _ : / -; values at most 1000 characters.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Product is a product of the organization as the back office sees it.
type Product struct {
	SerialNumber string            `json:"serial_number"`
	Model        string            `json:"model"`
	Metadata     map[string]string `json:"metadata"`
	// Whether activation needs a connection token.
	HasConnectionToken bool `json:"has_connection_token"`
	// UNASSIGNED: nobody has it; ACTIVE: a thing of the customer customer_id.
	State string `json:"state" jsonschema:"enum=UNASSIGNED,enum=ACTIVE"`
	// The customer that has it while ACTIVE.
	CustomerID *string `json:"customer_id" jsonschema:"nullable"`
	// Its location while ACTIVE.
	LocationID *string `json:"location_id" jsonschema:"nullable"`
	// The id of the thing while ACTIVE; new at every activation.
	ThingID     *string    `json:"thing_id" jsonschema:"nullable"`
	ActivatedAt *time.Time `json:"activated_at" jsonschema:"nullable"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// ProductList is a page of products, by serial number.
type ProductList struct {
	Products []Product `json:"products"`
	// Pass as `after` for the next page; null on the last one.
	Next *string `json:"next" jsonschema:"nullable"`
}

// ProductImportLine is the outcome of one line of a product import.
type ProductImportLine struct {
	// The line of the input, from 1.
	Line int `json:"line" jsonschema:"minimum=1"`
	// created; unchanged: the organization already had the serial number; rejected: see error.
	Status       string `json:"status" jsonschema:"enum=created,enum=unchanged,enum=rejected"`
	SerialNumber string `json:"serial_number,omitempty"`
	// Why the line was rejected.
	Error string `json:"error,omitempty"`
}

// ProductImportSummary counts the outcomes of an import.
type ProductImportSummary struct {
	Created   int `json:"created" jsonschema:"minimum=0"`
	Unchanged int `json:"unchanged" jsonschema:"minimum=0"`
	Rejected  int `json:"rejected" jsonschema:"minimum=0"`
}

// ProductImportReport is the outcome of an import as one document.
type ProductImportReport struct {
	Summary ProductImportSummary `json:"summary"`
	// The first 100 rejected lines.
	Rejected []ProductImportLine `json:"rejected" jsonschema:"maxItems=100"`
}

// Thing is a thing of the customer: an activated product.
type Thing struct {
	// The thing's id. An opaque string; do not parse it.
	ID           string `json:"id"`
	SerialNumber string `json:"serial_number"`
	Model        string `json:"model"`
	// The name the customer gave it; may be empty.
	Name        string     `json:"name"`
	State       string     `json:"state" jsonschema:"enum=ACTIVE"`
	LocationID  string     `json:"location_id"`
	ActivatedAt *time.Time `json:"activated_at" jsonschema:"nullable"`
}

// ThingList is things of the customer, oldest activation first.
type ThingList struct {
	Things []Thing `json:"things"`
}

// ActivateThingRequest is a product to activate and where it goes: location_id or new_location.
type ActivateThingRequest struct {
	SerialNumber string `json:"serial_number" jsonschema:"minLength=1,maxLength=64,example=HP-2026-000123"`
	// Needed when the product has one.
	ConnectionToken string `json:"connection_token,omitempty" jsonschema:"maxLength=256"`
	// A name for the thing.
	Name string `json:"name,omitempty" jsonschema:"maxLength=100"`
	// One of the customer's locations.
	LocationID string `json:"location_id,omitempty"`
	// Creates a location of this name in the same step (needs location.write).
	NewLocation string `json:"new_location,omitempty" jsonschema:"maxLength=100"`
}

// ActivateThingInLocationRequest is a product to activate into the location of the path.
type ActivateThingInLocationRequest struct {
	SerialNumber string `json:"serial_number" jsonschema:"minLength=1,maxLength=64,example=HP-2026-000123"`
	// Needed when the product has one.
	ConnectionToken string `json:"connection_token,omitempty" jsonschema:"maxLength=256"`
	// A name for the thing.
	Name string `json:"name,omitempty" jsonschema:"maxLength=100"`
}

// PatchThingRequest is changes to a thing: name, location_id or both.
type PatchThingRequest struct {
	// The new name; empty removes it.
	Name *string `json:"name,omitempty" jsonschema:"maxLength=100"`
	// Another of the customer's locations.
	LocationID *string `json:"location_id,omitempty" jsonschema:"minLength=1"`
}

// importEndJSON is the last line of a streamed import.
type importEndJSON struct {
	Summary *things.ImportSummary `json:"summary,omitempty"`
	Error   string                `json:"error,omitempty"`
}
