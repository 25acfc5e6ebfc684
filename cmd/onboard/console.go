package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/mail"
)

// userCommand: onboard admin user create --org NAME --email ADDR [--role org_admin|supervisor]
//
// It creates a back-office user of the console and queues the mail with
// the link to set a password (the running service's mail worker sends it);
// no password is ever given on the command line.
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: onboard admin user create --org NAME --email ADDR [--role org_admin|supervisor] [--language en|it]")
	}
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard admin user create", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization the user manages (a supervisor's home organization)")
	email := fs.String("email", "", "the user's email address; the set-password link goes there")
	role := fs.String("role", "org_admin", "org_admin (one organization) or supervisor (every organization and system-wide settings)")
	lang := fs.String("language", "", "language of the mail (en or it)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	templates, err := mail.LoadTemplates(cfg.MailTemplates)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := backoffice.New(backoffice.Deps{Store: st, Mail: templates}, backoffice.Config{PublicURL: cfg.PublicURL, MailFrom: cfg.MailFrom})
	u, err := svc.CreateUser(ctx, "cli", backoffice.NewUser{Organization: *org, Email: *email, Role: *role, Language: *lang})
	if err != nil {
		return fmt.Errorf("user create: %w", err)
	}
	fmt.Fprintf(stdout, "back-office user %s (%s, %s) created; the link to set a password is mailed to %s\n", u.ID, u.Role, *org, u.Email)
	return nil
}
