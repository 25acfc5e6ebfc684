package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/flows"
)

// Handlers of what account administrators (and users) do with their own
// account: invitations, users, locations and the deletion of a customer.
// The same handlers serve customers and partners: kindOf tells which.

type accountHandler func(w http.ResponseWriter, r *http.Request, p flows.Principal, ref flows.AccountRef) error

// forAccount adapts an accountHandler to the paths of one account kind:
// the account is the path's {id}, of that kind.
func forAccount(kind string, fn accountHandler) func(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
		return fn(w, r, p, flows.AccountRef{Kind: kind, ID: r.PathValue("id")})
	}
}

// ---- invitations ----

func (s *Server) invite(w http.ResponseWriter, r *http.Request, p flows.Principal, ref flows.AccountRef) error {
	var req InviteRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	inv, err := s.flows.Invite(r.Context(), p, ref, flows.Invite{Email: req.Email, UserType: req.UserType, ClientIP: s.clientIP(r)})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, invitationView(inv))
	return nil
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request, p flows.Principal, ref flows.AccountRef) error {
	list, err := s.flows.Invitations(r.Context(), p, ref)
	if err != nil {
		return err
	}
	out := InvitationList{Invitations: make([]Invitation, 0, len(list))}
	for _, i := range list {
		out.Invitations = append(out.Invitations, invitationView(i))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request, p flows.Principal, ref flows.AccountRef) error {
	if err := s.flows.RevokeInvitation(r.Context(), p, ref, r.PathValue("invitationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getInvitation(w http.ResponseWriter, r *http.Request) error {
	form, err := s.flows.Invitation(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, invitationFormView(form))
	return nil
}

func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var req AcceptInvitationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	au, err := s.flows.AcceptInvitation(r.Context(), r.PathValue("token"), flows.InvitationCompletion{
		User: req.User, Password: req.Password, AcceptedAgreements: req.AcceptedAgreements,
	})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, InvitedUser{User: userView(au.User, au.UserType)})
	return nil
}

// ---- users ----

func (s *Server) listAccountUsers(w http.ResponseWriter, r *http.Request, p flows.Principal, ref flows.AccountRef) error {
	list, err := s.flows.AccountUsers(r.Context(), p, ref)
	if err != nil {
		return err
	}
	out := AccountUsers{Users: make([]User, 0, len(list))}
	for _, u := range list {
		out.Users = append(out.Users, userView(u.User, u.UserType))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) changeAccountUser(w http.ResponseWriter, r *http.Request, p flows.Principal, ref flows.AccountRef) error {
	var req ChangeUserTypeRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	au, err := s.flows.ChangeUserType(r.Context(), p, ref, r.PathValue("userId"), req.UserType)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, userView(au.User, au.UserType))
	return nil
}

func (s *Server) deleteAccountUser(w http.ResponseWriter, r *http.Request, p flows.Principal, ref flows.AccountRef) error {
	if err := s.flows.DeleteAccountUser(r.Context(), p, ref, r.PathValue("userId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- locations ----

func (s *Server) listLocations(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	locs, err := s.flows.Locations(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := LocationList{Locations: make([]Location, 0, len(locs))}
	for _, l := range locs {
		out.Locations = append(out.Locations, locationView(l))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) createLocation(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req LocationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	l, err := s.flows.CreateLocation(r.Context(), p, r.PathValue("id"), req.Name)
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, locationView(l))
	return nil
}

func (s *Server) renameLocation(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req LocationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	l, err := s.flows.RenameLocation(r.Context(), p, r.PathValue("id"), r.PathValue("locationId"), req.Name)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, locationView(l))
	return nil
}

func (s *Server) deleteLocation(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	if err := s.flows.DeleteLocation(r.Context(), p, r.PathValue("id"), r.PathValue("locationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- deletion ----

func (s *Server) deleteCustomer(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req DeleteCustomerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.flows.DeleteCustomer(r.Context(), p, r.PathValue("id"), req.Confirm); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
