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
	switch name {
	case TemplateThingFactoryReset:
		return ThingFactoryResetData{}, true
	case TemplateDeviceAdded:
		return DeviceAddedData{}, true
	}
	return nil, false
}

// TemplateDeviceAdded tells a customer's user that a device was added to
// their account with a back-office installation code that named their
// address, so that a device they did not add is noticed and removed; data
// is DeviceAddedData.
const TemplateDeviceAdded = "device_added"

// DeviceAddedData is the data for TemplateDeviceAdded.
type DeviceAddedData struct {
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// DeviceName and Platform name the device (the name is the
	// installer's, quoted, never in the subject).
	DeviceName string `mail:"quote"`
	Platform   string
	// DevicesURL is the page listing the account's devices.
	DevicesURL string
}
