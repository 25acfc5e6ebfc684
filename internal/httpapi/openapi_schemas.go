package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
)

// schemaTypes is the registry of the OpenAPI document's component schemas:
// each name under #/components/schemas and the Go type whose JSON Schema is
// generated for it. The paths (openapi/*.json) refer to these names; the
// types are what the handlers decode and encode, so a field added to one is
// in the document too.
func schemaTypes() map[string]reflect.Type {
	return map[string]reflect.Type{
		"AgreementsAccepted":           reflect.TypeFor[AgreementsAccepted](),
		"AcceptAgreementsRequest":      reflect.TypeFor[AcceptAgreementsRequest](),
		"AcceptInvitationRequest":      reflect.TypeFor[AcceptInvitationRequest](),
		"AccountUsers":                 reflect.TypeFor[AccountUsers](),
		"AdminAccount":                 reflect.TypeFor[AdminAccount](),
		"AdminAgreement":               reflect.TypeFor[AdminAgreement](),
		"AdminKey":                     reflect.TypeFor[AdminKey](),
		"AdminKeyList":                 reflect.TypeFor[AdminKeyList](),
		"AdminOrganization":            reflect.TypeFor[AdminOrganization](),
		"AdminUser":                    reflect.TypeFor[AdminUser](),
		"AdminUserType":                reflect.TypeFor[AdminUserType](),
		"Agreement":                    reflect.TypeFor[Agreement](),
		"AgreementList":                reflect.TypeFor[AgreementList](),
		"AgreementStatus":              reflect.TypeFor[AgreementStatus](),
		"AgreementVersionList":         reflect.TypeFor[AgreementVersionList](),
		"AgreementVersionRequest":      reflect.TypeFor[AgreementVersionRequest](),
		"AndroidAssetLinks":            reflect.TypeFor[[]assetLink](),
		"AppleAppSiteAssociation":      reflect.TypeFor[appleAppSiteAssociation](),
		"ApprovalList":                 reflect.TypeFor[ApprovalList](),
		"AuditEntry":                   reflect.TypeFor[AuditEntry](),
		"AuditLog":                     reflect.TypeFor[AuditLog](),
		"B2BAccessToken":               reflect.TypeFor[B2BAccessToken](),
		"B2BActivityRequest":           reflect.TypeFor[B2BActivityRequest](),
		"B2BAppLinks":                  reflect.TypeFor[B2BAppLinks](),
		"B2BAppLinksRequest":           reflect.TypeFor[B2BAppLinksRequest](),
		"B2BClient":                    reflect.TypeFor[B2BClient](),
		"B2BClientCredentials":         reflect.TypeFor[B2BClientCredentials](),
		"B2BClientList":                reflect.TypeFor[B2BClientList](),
		"B2BCreateClientRequest":       reflect.TypeFor[B2BCreateClientRequest](),
		"B2BCreateEndUserRequest":      reflect.TypeFor[B2BCreateEndUserRequest](),
		"B2BCreateLabelpartnerRequest": reflect.TypeFor[B2BCreateLabelpartnerRequest](),
		"B2BEndUser":                   reflect.TypeFor[B2BEndUser](),
		"B2BExchangeTokenRequest":      reflect.TypeFor[B2BExchangeTokenRequest](),
		"B2BImportLine":                reflect.TypeFor[B2BImportLine](),
		"B2BImportReport":              reflect.TypeFor[B2BImportReport](),
		"B2BImportSummary":             reflect.TypeFor[B2BImportSummary](),
		"B2BImportSummaryLine":         reflect.TypeFor[B2BImportSummaryLine](),
		"B2BLabelpartner":              reflect.TypeFor[B2BLabelpartner](),
		"B2BLabelpartnerList":          reflect.TypeFor[B2BLabelpartnerList](),
		"B2BNoGatewayRequest":          reflect.TypeFor[B2BNoGatewayRequest](),
		"B2BOAuthError":                reflect.TypeFor[B2BOAuthError](),
		"B2BPatchClientRequest":        reflect.TypeFor[B2BPatchClientRequest](),
		"B2BPatchLabelpartnerRequest":  reflect.TypeFor[B2BPatchLabelpartnerRequest](),
		"B2BProvisionRequest":          reflect.TypeFor[B2BProvisionRequest](),
		"B2BResetConfirmRequest":       reflect.TypeFor[B2BResetConfirmRequest](),
		"B2BResetPasswordRequest":      reflect.TypeFor[B2BResetPasswordRequest](),
		"B2BSSOUserRequest":            reflect.TypeFor[B2BSSOUserRequest](),
		"B2BStatusOK":                  reflect.TypeFor[B2BStatusOK](),
		"B2BTokenPair":                 reflect.TypeFor[B2BTokenPair](),
		"B2BVerifyRequest":             reflect.TypeFor[B2BVerifyRequest](),
		"BackOfficeCustomer":           reflect.TypeFor[BackOfficeCustomer](),
		"Branding":                     reflect.TypeFor[Branding](),
		"Funnel":                       reflect.TypeFor[Funnel](),
		"FunnelDay":                    reflect.TypeFor[FunnelDay](),
		"FunnelStep":                   reflect.TypeFor[FunnelStep](),
		"ChangeEmailRequest":           reflect.TypeFor[ChangeEmailRequest](),
		"ChangePasswordRequest":        reflect.TypeFor[ChangePasswordRequest](),
		"ChangeUserTypeRequest":        reflect.TypeFor[ChangeUserTypeRequest](),
		"CompleteSignupRequest":        reflect.TypeFor[CompleteSignupRequest](),
		"CreateAgreementRequest":       reflect.TypeFor[CreateAgreementRequest](),
		"CreateCustomerRequest":        reflect.TypeFor[CreateCustomerRequest](),
		"CreateOrganizationRequest":    reflect.TypeFor[CreateOrganizationRequest](),
		"PatchOrganizationRequest":     reflect.TypeFor[PatchOrganizationRequest](),
		"CreatePartnerRequest":         reflect.TypeFor[CreatePartnerRequest](),
		"CreateSessionRequest":         reflect.TypeFor[CreateSessionRequest](),
		"CreateUserTypeRequest":        reflect.TypeFor[CreateUserTypeRequest](),
		"Customer":                     reflect.TypeFor[Customer](),
		"DeleteCustomerRequest":        reflect.TypeFor[DeleteCustomerRequest](),
		"EmailChangeInfo":              reflect.TypeFor[EmailChangeInfo](),
		"EmailChanged":                 reflect.TypeFor[EmailChanged](),
		"EmailSent":                    reflect.TypeFor[EmailSent](),
		"Field":                        reflect.TypeFor[Field](),
		"FieldError":                   reflect.TypeFor[domain.FieldError](),
		"Health":                       reflect.TypeFor[Health](),
		"Invitation":                   reflect.TypeFor[Invitation](),
		"InvitationForm":               reflect.TypeFor[InvitationForm](),
		"InvitationList":               reflect.TypeFor[InvitationList](),
		"InviteRequest":                reflect.TypeFor[InviteRequest](),
		"InvitedUser":                  reflect.TypeFor[InvitedUser](),
		"Location":                     reflect.TypeFor[Location](),
		"LocationList":                 reflect.TypeFor[LocationList](),
		"LocationRequest":              reflect.TypeFor[LocationRequest](),
		"Me":                           reflect.TypeFor[Me](),
		"MyAgreements":                 reflect.TypeFor[MyAgreements](),
		"MyExport":                     reflect.TypeFor[MyExport](),
		"MySession":                    reflect.TypeFor[MySession](),
		"MySessions":                   reflect.TypeFor[MySessions](),
		"Onboarding":                   reflect.TypeFor[Onboarding](),
		// Device setup (payload_setup.go).
		"SetupSignupRequest":            reflect.TypeFor[SetupSignupRequest](),
		"SetupStatus":                   reflect.TypeFor[SetupStatus](),
		"DeviceType":                    reflect.TypeFor[DeviceType](),
		"DeviceTypes":                   reflect.TypeFor[DeviceTypes](),
		"SetupDeviceRequest":            reflect.TypeFor[SetupDeviceRequest](),
		"Device":                        reflect.TypeFor[Device](),
		"SetupDevice":                   reflect.TypeFor[SetupDevice](),
		"ProvisionDevice":               reflect.TypeFor[ProvisionDevice](),
		"ProvisionRequest":              reflect.TypeFor[ProvisionRequest](),
		"ProvisionedDevice":             reflect.TypeFor[ProvisionedDevice](),
		"Devices":                       reflect.TypeFor[Devices](),
		"RenameDeviceRequest":           reflect.TypeFor[RenameDeviceRequest](),
		"SystemDeviceSetup":             reflect.TypeFor[SystemDeviceSetup](),
		"SystemDeviceSetupView":         reflect.TypeFor[SystemDeviceSetupView](),
		"CreateInstallationCodeRequest": reflect.TypeFor[CreateInstallationCodeRequest](),
		"InstallationCode":              reflect.TypeFor[InstallationCode](),
		"InstallationCodes":             reflect.TypeFor[InstallationCodes](),
		"OIDCSessionRequest":            reflect.TypeFor[OIDCSessionRequest](),
		"OIDCPending":                   reflect.TypeFor[OIDCPending](),
		"OIDCSessionAnswer":             reflect.TypeFor[OIDCSessionAnswer](),
		"OIDCRegistrationForm":          reflect.TypeFor[OIDCRegistrationForm](),
		"OIDCRegistrationRequest":       reflect.TypeFor[OIDCRegistrationRequest](),
		"OIDCRegistered":                reflect.TypeFor[OIDCRegistered](),
		"OIDCLinkRequest":               reflect.TypeFor[OIDCLinkRequest](),
		"OrganizationList":              reflect.TypeFor[OrganizationList](),
		"Partner":                       reflect.TypeFor[Partner](),
		"PartnerList":                   reflect.TypeFor[PartnerList](),
		"PartnerProvider":               reflect.TypeFor[PartnerProvider](),
		"PasswordChanged":               reflect.TypeFor[PasswordChanged](),
		"PasswordPolicy":                reflect.TypeFor[PasswordPolicy](),
		"PasswordResetInfo":             reflect.TypeFor[PasswordResetInfo](),
		"PasswordResetRequest":          reflect.TypeFor[PasswordResetRequest](),
		"PatchUserTypeRequest":          reflect.TypeFor[PatchUserTypeRequest](),
		"PendingAccount":                reflect.TypeFor[PendingAccount](),
		"Problem":                       reflect.TypeFor[Problem](),
		"PropertyDefinition":            reflect.TypeFor[PropertyDefinition](),
		"PropertyList":                  reflect.TypeFor[PropertyList](),
		"PropertyRequest":               reflect.TypeFor[PropertyRequest](),
		"PropertyUpdateRequest":         reflect.TypeFor[PropertyUpdateRequest](),
		"Registration":                  reflect.TypeFor[Registration](),
		"RejectRequest":                 reflect.TypeFor[RejectRequest](),
		"ResetPasswordRequest":          reflect.TypeFor[ResetPasswordRequest](),
		"SelfRegistration":              reflect.TypeFor[SelfRegistration](),
		"Session":                       reflect.TypeFor[Session](),
		"SessionsEnded":                 reflect.TypeFor[SessionsEnded](),
		"SignupForm":                    reflect.TypeFor[SignupForm](),
		"SignupStatus":                  reflect.TypeFor[SignupStatus](),
		"StartSignupRequest":            reflect.TypeFor[StartSignupRequest](),
		"User":                          reflect.TypeFor[User](),
		"UserType":                      reflect.TypeFor[UserType](),
		"UserTypeList":                  reflect.TypeFor[UserTypeList](),
		"VerifiedCustomer":              reflect.TypeFor[VerifiedCustomer](),
		"VerifyCustomerRequest":         reflect.TypeFor[VerifyCustomerRequest](),
		// Events (payload_events.go) and the data of each event type.
		"EventFeed":                      reflect.TypeFor[EventFeed](),
		"Event":                          reflect.TypeFor[Event](),
		"CreateWebhookRequest":           reflect.TypeFor[CreateWebhookRequest](),
		"PatchWebhookRequest":            reflect.TypeFor[PatchWebhookRequest](),
		"Webhook":                        reflect.TypeFor[Webhook](),
		"WebhookList":                    reflect.TypeFor[WebhookList](),
		"WebhookAttempt":                 reflect.TypeFor[WebhookAttempt](),
		"WebhookDelivery":                reflect.TypeFor[WebhookDelivery](),
		"WebhookDeliveryList":            reflect.TypeFor[WebhookDeliveryList](),
		"ReplayWebhookRequest":           reflect.TypeFor[ReplayWebhookRequest](),
		"ReplayWebhookResult":            reflect.TypeFor[ReplayWebhookResult](),
		"CustomerCreatedData":            reflect.TypeFor[events.CustomerCreated](),
		"PartnerUserCreatedData":         reflect.TypeFor[events.PartnerUserCreated](),
		"DataRecipientData":              reflect.TypeFor[events.DataRecipient](),
		"UserCreatedData":                reflect.TypeFor[events.UserCreated](),
		"UserTypeChangedData":            reflect.TypeFor[events.UserTypeChanged](),
		"UserRemovedData":                reflect.TypeFor[events.UserRemoved](),
		"UserEmailChangedData":           reflect.TypeFor[events.UserEmailChanged](),
		"UserPasswordChangedData":        reflect.TypeFor[events.UserPasswordChanged](),
		"AgreementAcceptedData":          reflect.TypeFor[events.AgreementAccepted](),
		"AccountDeletedData":             reflect.TypeFor[events.AccountDeleted](),
		"InvitationAcceptedData":         reflect.TypeFor[events.InvitationAccepted](),
		"EndUserData":                    reflect.TypeFor[events.EndUser](),
		"ActivateThingRequest":           reflect.TypeFor[ActivateThingRequest](),
		"ActivateThingInLocationRequest": reflect.TypeFor[ActivateThingInLocationRequest](),
		"CreateProductRequest":           reflect.TypeFor[CreateProductRequest](),
		"PatchThingRequest":              reflect.TypeFor[PatchThingRequest](),
		"Product":                        reflect.TypeFor[Product](),
		"ProductImportLine":              reflect.TypeFor[ProductImportLine](),
		"ProductImportReport":            reflect.TypeFor[ProductImportReport](),
		"ProductImportSummary":           reflect.TypeFor[ProductImportSummary](),
		"ProductList":                    reflect.TypeFor[ProductList](),
		"Thing":                          reflect.TypeFor[Thing](),
		"ThingList":                      reflect.TypeFor[ThingList](),
	}
}

// componentSchemas generates the JSON Schema of every type in schemaTypes,
// and of the named types they use, keyed by component name. Objects refuse
// unknown members; a member is required unless its json tag says omitempty
// or omitzero; descriptions are the types' and fields' godoc comments
// (schemaComments); enums, formats and bounds come from jsonschema tags.
func componentSchemas() (map[string]any, error) {
	types := schemaTypes()
	names := make(map[reflect.Type]string, len(types))
	for name, t := range types {
		names[t] = name
	}
	r := &jsonschema.Reflector{
		Anonymous:  true,
		CommentMap: schemaComments(),
		Namer: func(t reflect.Type) string {
			if name, ok := names[t]; ok {
				return name
			}
			n := t.Name()
			if n == "" {
				return ""
			}
			// unexported helper types too are named in capitals
			return strings.ToUpper(n[:1]) + n[1:]
		},
	}
	out := make(map[string]any, len(types))
	add := func(name string, s *jsonschema.Schema) error {
		tidySchema(s)
		raw, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("schema %s: %w", name, err)
		}
		out[name] = json.RawMessage(bytes.ReplaceAll(raw, []byte(`"#/$defs/`), []byte(`"#/components/schemas/`)))
		return nil
	}
	for name, t := range types {
		s := r.ReflectFromType(t)
		for def, ds := range s.Definitions {
			if err := add(def, ds); err != nil {
				return nil, err
			}
		}
		if s.Ref == "" { // not a struct: the schema itself, e.g. an array
			s.Definitions = nil
			s.Version = ""
			if err := add(name, s); err != nil {
				return nil, err
			}
		} else if want := "#/$defs/" + name; s.Ref != want {
			return nil, fmt.Errorf("schema %s: generated as %s", name, strings.TrimPrefix(s.Ref, "#/$defs/"))
		}
	}
	return out, nil
}

// tidySchema moves the description of a nullable member (oneOf the type and
// null, as the jsonschema tag "nullable" makes it) next to the oneOf, where
// readers of the document look for it.
func tidySchema(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if len(s.OneOf) == 2 && s.OneOf[1].Type == "null" && s.Description == "" {
		s.Description, s.OneOf[0].Description = s.OneOf[0].Description, ""
	}
	if s.Properties != nil {
		for p := s.Properties.Oldest(); p != nil; p = p.Next() {
			tidySchema(p.Value)
		}
	}
	tidySchema(s.Items)
	tidySchema(s.AdditionalProperties)
	for _, o := range s.OneOf {
		tidySchema(o)
	}
}
