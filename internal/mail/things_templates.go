package mail

// TemplateThingFactoryReset tells a customer's account administrators that
// the organization reset one of their things to its factory state, so that
// the customer no longer has it; data is ThingFactoryResetData.
const TemplateThingFactoryReset = "thing_factory_reset"

// ThingFactoryResetData is the data for TemplateThingFactoryReset.
type ThingFactoryResetData struct {
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// SerialNumber and Model name the product.
	SerialNumber string
	Model        string
	// ThingName is the name the customer gave the thing; may be empty
	// (quoted, never in the subject).
	ThingName string `mail:"quote"`
}

// thingsZeroData returns the zero data of a template of things.
func thingsZeroData(name string) (any, bool) {
	if name == TemplateThingFactoryReset {
		return ThingFactoryResetData{}, true
	}
	return nil, false
}
