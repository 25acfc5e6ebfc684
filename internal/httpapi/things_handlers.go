package httpapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/things"
)

// Option is a setting of New.
type Option func(*Server)

// WithThings serves the products and things API with t; without it those
// endpoints answer 404.
func WithThings(t *things.Service) Option {
	return func(s *Server) { s.things = t }
}

// thingsRoutes: products of the organization (admin API) and the things of
// customers.
func (s *Server) thingsRoutes() []Route {
	const admin = "/api/v1/admin/organizations/{org}/products"
	const cust = "/api/v1/customers/{id}"
	return []Route{
		{"GET", admin, s.admin(s.withThings(s.listProducts))},
		{"POST", admin, s.admin(s.withThings(s.createProduct))},
		{"POST", admin + "/import", s.admin(s.withThings(s.importProducts))},
		{"GET", admin + "/{serial}", s.admin(s.withThings(s.getProduct))},
		{"POST", admin + "/{serial}/factory-reset", s.admin(s.withThings(s.factoryReset))},

		{"GET", cust + "/things", s.authed(s.withThingsUser(s.listThings))},
		{"POST", cust + "/things", s.authed(s.withThingsUser(s.activateThing))},
		{"GET", cust + "/things/{thingId}", s.authed(s.withThingsUser(s.getThing))},
		{"PATCH", cust + "/things/{thingId}", s.authed(s.withThingsUser(s.patchThing))},
		{"DELETE", cust + "/things/{thingId}", s.authed(s.withThingsUser(s.releaseThing))},
		{"GET", cust + "/locations/{locationId}/things", s.authed(s.withThingsUser(s.listThings))},
		{"POST", cust + "/locations/{locationId}/things", s.authed(s.withThingsUser(s.activateThing))},
	}
}

func thingsMissing() error {
	return domain.Errorf(domain.ENotFound, "not-found", "There is no such endpoint.")
}

func (s *Server) withThings(fn adminFunc) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
		if s.things == nil {
			return thingsMissing()
		}
		return fn(w, r, adm, org)
	}
}

func (s *Server) withThingsUser(fn func(w http.ResponseWriter, r *http.Request, p flows.Principal) error) func(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
		if s.things == nil {
			return thingsMissing()
		}
		return fn(w, r, p)
	}
}

// ---- payloads ----

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// lines are import results as ProductImportLine.
func lines(rs []things.ImportResult) []ProductImportLine {
	out := make([]ProductImportLine, len(rs))
	for i, r := range rs {
		out[i] = ProductImportLine(r)
	}
	return out
}

func productView(p domain.Product) Product {
	meta := p.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return Product{SerialNumber: p.SerialNumber, Model: p.Model, Metadata: meta, HasConnectionToken: p.TokenHash != nil,
		State: p.State, CustomerID: strOrNil(p.AccountID), LocationID: strOrNil(p.LocationID), ThingID: strOrNil(p.ThingID),
		ActivatedAt: p.ActivatedAt, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func thingView(p domain.Product) Thing {
	return Thing{ID: p.ThingID, SerialNumber: p.SerialNumber, Model: p.Model, Name: p.Name, State: p.State,
		LocationID: p.LocationID, ActivatedAt: p.ActivatedAt}
}

// ---- admin: products ----

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req CreateProductRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.things.CreateProduct(r.Context(), adm, org, things.ProductInput(req))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/admin/organizations/"+org.Name+"/products/"+p.SerialNumber)
	encode(w, http.StatusCreated, productView(p))
	return nil
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	p, err := s.things.Product(r.Context(), org, r.PathValue("serial"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, productView(p))
	return nil
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return domain.Invalid(domain.FieldError{Field: "limit", Message: fmt.Sprintf("must be 1 to %d", things.MaxProductsPage)})
		}
		limit = n
	}
	ps, err := s.things.Products(r.Context(), org, q.Get("after"), limit)
	if err != nil {
		return err
	}
	out := ProductList{Products: make([]Product, 0, len(ps))}
	for _, p := range ps {
		out.Products = append(out.Products, productView(p))
	}
	if limit == 0 {
		limit = 100
	}
	if len(ps) > 0 && len(ps) == limit {
		out.Next = &ps[len(ps)-1].SerialNumber
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) factoryReset(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	p, err := s.things.FactoryReset(r.Context(), adm, org, r.PathValue("serial"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, productView(p))
	return nil
}

func (s *Server) importProducts(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	format, err := importFormat(r)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	extend := func() {
		_ = rc.SetReadDeadline(time.Now().Add(60 * time.Second))
		_ = rc.SetWriteDeadline(time.Now().Add(60 * time.Second))
	}
	extend()
	if wantsJSON(r) {
		rejected := []things.ImportResult{}
		n := 0
		sum, err := s.things.ImportProducts(r.Context(), adm.Actor(), org, r.Body, format, func(res things.ImportResult) error {
			if res.Status == "rejected" && len(rejected) < maxReportedRejections {
				rejected = append(rejected, res)
			}
			if n++; n%1000 == 0 {
				extend()
			}
			return nil
		})
		if err != nil {
			return s.importFailed(r, err)
		}
		encode(w, http.StatusOK, ProductImportReport{Summary: ProductImportSummary(sum), Rejected: lines(rejected)})
		return nil
	}
	_ = rc.EnableFullDuplex() // answer while the body is still being read
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	n := 0
	sum, err := s.things.ImportProducts(r.Context(), adm.Actor(), org, r.Body, format, func(res things.ImportResult) error {
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write import answer: %w", err)
		}
		if n++; n%1000 == 0 {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("write import answer: %w", err)
			}
			_ = rc.Flush()
			extend()
		}
		return nil
	})
	switch de := domain.AsError(err); {
	case err == nil:
		_ = enc.Encode(importEndJSON{Summary: &sum})
	case de != nil:
		_ = enc.Encode(importEndJSON{Error: de.Detail})
	default:
		s.log.ErrorContext(r.Context(), "import stopped", "route", r.Pattern, "err", err)
		_ = enc.Encode(importEndJSON{Error: "The import stopped: something went wrong on our side. Lines not answered were not imported; run the import again."})
	}
	_ = bw.Flush()
	return nil
}

// ---- customers: things ----

func (s *Server) listThings(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	ts, err := s.things.Things(r.Context(), p, r.PathValue("id"), r.PathValue("locationId"))
	if err != nil {
		return err
	}
	out := ThingList{Things: make([]Thing, 0, len(ts))}
	for _, t := range ts {
		out.Things = append(out.Things, thingView(t))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) activateThing(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req ActivateThingRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	in := things.Activation{SerialNumber: req.SerialNumber, ConnectionToken: req.ConnectionToken, Name: req.Name,
		LocationID: req.LocationID, NewLocation: req.NewLocation}
	if loc := r.PathValue("locationId"); loc != "" {
		if req.LocationID != "" || req.NewLocation != "" {
			return domain.Invalid(domain.FieldError{Field: "location_id", Message: "must not be given: the path names the location"})
		}
		in.LocationID = loc
	}
	t, err := s.things.Activate(r.Context(), p, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/customers/"+r.PathValue("id")+"/things/"+t.ThingID)
	encode(w, http.StatusCreated, thingView(t))
	return nil
}

func (s *Server) getThing(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	t, err := s.things.Thing(r.Context(), p, r.PathValue("id"), r.PathValue("thingId"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, thingView(t))
	return nil
}

func (s *Server) patchThing(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req PatchThingRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.things.UpdateThing(r.Context(), p, r.PathValue("id"), r.PathValue("thingId"),
		things.ThingPatch{Name: req.Name, LocationID: req.LocationID})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, thingView(t))
	return nil
}

func (s *Server) releaseThing(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	if err := s.things.ReleaseThing(r.Context(), p, r.PathValue("id"), r.PathValue("thingId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
