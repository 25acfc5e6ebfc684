package outbound

import "net/netip"

// Reasons an address is refused, as Classify returns them.
const (
	ReasonUnspecified   = "unspecified"
	ReasonLoopback      = "loopback"
	ReasonPrivate       = "private"
	ReasonSharedCGNAT   = "shared (carrier-grade NAT)"
	ReasonLinkLocal     = "link-local"
	ReasonMetadata      = "cloud metadata"
	ReasonMulticast     = "multicast"
	ReasonBroadcast     = "broadcast"
	ReasonDocumentation = "documentation"
	ReasonBenchmark     = "benchmarking"
	ReasonReserved      = "reserved"
	ReasonTranslated    = "translated (embeds a refused IPv4 address)"
)

// metadataAddrs are the instance metadata services of cloud providers: they
// hand out credentials to whoever asks from inside the instance. They are
// refused even when private addresses are allowed.
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("192.0.0.192"):     true, // Oracle Cloud (classic)
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS over IPv6
}

type rangeReason struct {
	p      netip.Prefix
	reason string
}

// refusedRanges are the special-purpose ranges (IANA IPv4 and IPv6
// special-purpose address registries) that a public service never has.
var refusedRanges = func() []rangeReason {
	var out []rangeReason
	for _, r := range []struct{ prefix, reason string }{
		{"0.0.0.0/8", ReasonUnspecified}, // "this network"; 0.0.0.0 reaches the local host
		{"10.0.0.0/8", ReasonPrivate},
		{"100.64.0.0/10", ReasonSharedCGNAT},
		{"127.0.0.0/8", ReasonLoopback},
		{"169.254.0.0/16", ReasonLinkLocal},
		{"172.16.0.0/12", ReasonPrivate},
		{"192.0.0.0/24", ReasonReserved}, // IETF protocol assignments
		{"192.0.2.0/24", ReasonDocumentation},
		{"192.88.99.0/24", ReasonReserved}, // 6to4 relay anycast
		{"192.168.0.0/16", ReasonPrivate},
		{"198.18.0.0/15", ReasonBenchmark},
		{"198.51.100.0/24", ReasonDocumentation},
		{"203.0.113.0/24", ReasonDocumentation},
		{"224.0.0.0/4", ReasonMulticast},
		{"255.255.255.255/32", ReasonBroadcast},
		{"240.0.0.0/4", ReasonReserved},
		{"::/128", ReasonUnspecified},
		{"::1/128", ReasonLoopback},
		{"::/96", ReasonReserved},           // IPv4-compatible (deprecated)
		{"::ffff:0:0:0/96", ReasonReserved}, // IPv4-translated
		{"64:ff9b:1::/48", ReasonPrivate},   // local-use IPv4/IPv6 translation
		{"100::/64", ReasonReserved},        // discard-only
		{"2001::/32", ReasonReserved},       // Teredo
		{"2001:2::/48", ReasonBenchmark},
		{"2001:db8::/32", ReasonDocumentation},
		{"3fff::/20", ReasonDocumentation},
		{"fc00::/7", ReasonPrivate}, // unique local
		{"fe80::/10", ReasonLinkLocal},
		{"fec0::/10", ReasonPrivate}, // site-local (deprecated)
		{"ff00::/8", ReasonMulticast},
	} {
		out = append(out, rangeReason{netip.MustParsePrefix(r.prefix), r.reason})
	}
	return out
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Classify tells why onboard must not connect to a; "" when a is a public
// unicast address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as
// the IPv4 address they carry, and so are the IPv4 addresses embedded in
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses. Cloud metadata
// addresses answer ReasonMetadata.
func Classify(a netip.Addr) string {
	if !a.IsValid() {
		return ReasonUnspecified
	}
	a = a.WithZone("").Unmap()
	if metadataAddrs[a] {
		return ReasonMetadata
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			if Classify(netip.AddrFrom4([4]byte(b[12:16]))) != "" {
				return ReasonTranslated
			}
		case sixToFour.Contains(a):
			if Classify(netip.AddrFrom4([4]byte(b[2:6]))) != "" {
				return ReasonTranslated
			}
		}
	}
	for _, r := range refusedRanges {
		if r.p.Contains(a) {
			return r.reason
		}
	}
	return ""
}

// allowedWhenPrivate reports whether a reason of Classify is lifted by the
// allow-private option: everything but the metadata services.
func allowedWhenPrivate(reason string) bool {
	return reason != ReasonMetadata
}
