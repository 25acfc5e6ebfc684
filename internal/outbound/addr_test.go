package outbound

import (
	"net/netip"
	"net/url"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		addr, want string
	}{
		// Public addresses.
		{"93.184.215.14", ""}, {"8.8.8.8", ""}, {"1.1.1.1", ""}, {"172.32.0.1", ""}, {"100.128.0.1", ""}, {"192.169.0.1", ""},
		{"2606:4700:4700::1111", ""}, {"2a00:1450:4001:80b::200e", ""}, {"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},  // 6to4 of 8.8.8.8
		// Loopback.
		{"127.0.0.1", ReasonLoopback}, {"127.255.255.254", ReasonLoopback}, {"::1", ReasonLoopback},
		{"::ffff:127.0.0.1", ReasonLoopback}, {"::ffff:7f00:1", ReasonLoopback},
		// Unspecified.
		{"0.0.0.0", ReasonUnspecified}, {"0.1.2.3", ReasonUnspecified}, {"::", ReasonUnspecified}, {"::ffff:0.0.0.0", ReasonUnspecified},
		// Private.
		{"10.0.0.1", ReasonPrivate}, {"10.255.255.255", ReasonPrivate}, {"172.16.0.1", ReasonPrivate}, {"172.31.255.255", ReasonPrivate},
		{"192.168.1.1", ReasonPrivate}, {"::ffff:10.0.0.1", ReasonPrivate}, {"::ffff:192.168.0.1", ReasonPrivate},
		{"fc00::1", ReasonPrivate}, {"fd12:3456:789a::1", ReasonPrivate}, {"fec0::1", ReasonPrivate}, {"64:ff9b:1::a00:1", ReasonPrivate},
		// Shared address space (carrier-grade NAT).
		{"100.64.0.1", ReasonSharedCGNAT}, {"100.127.255.255", ReasonSharedCGNAT}, {"::ffff:100.64.0.1", ReasonSharedCGNAT},
		// Link-local.
		{"169.254.0.1", ReasonLinkLocal}, {"169.254.169.253", ReasonLinkLocal}, {"fe80::1", ReasonLinkLocal}, {"fe80::1%eth0", ReasonLinkLocal},
		{"febf::1", ReasonLinkLocal}, {"::ffff:169.254.1.1", ReasonLinkLocal},
		// Cloud metadata services.
		{"169.254.169.254", ReasonMetadata}, {"::ffff:169.254.169.254", ReasonMetadata}, {"::ffff:a9fe:a9fe", ReasonMetadata},
		{"fd00:ec2::254", ReasonMetadata}, {"169.254.170.2", ReasonMetadata}, {"100.100.100.200", ReasonMetadata}, {"192.0.0.192", ReasonMetadata},
		// Multicast and broadcast.
		{"224.0.0.1", ReasonMulticast}, {"239.255.255.250", ReasonMulticast}, {"ff02::1", ReasonMulticast}, {"ff05::1:3", ReasonMulticast},
		{"::ffff:224.0.0.251", ReasonMulticast}, {"255.255.255.255", ReasonBroadcast}, {"::ffff:255.255.255.255", ReasonBroadcast},
		// Documentation and benchmarking.
		{"192.0.2.1", ReasonDocumentation}, {"198.51.100.7", ReasonDocumentation}, {"203.0.113.9", ReasonDocumentation},
		{"2001:db8::1", ReasonDocumentation}, {"3fff::1", ReasonDocumentation}, {"198.18.0.1", ReasonBenchmark}, {"198.19.255.255", ReasonBenchmark},
		{"2001:2::1", ReasonBenchmark},
		// Other reserved ranges.
		{"240.0.0.1", ReasonReserved}, {"192.0.0.8", ReasonReserved}, {"192.88.99.1", ReasonReserved}, {"::7f00:1", ReasonReserved},
		{"100::1", ReasonReserved}, {"2001::1", ReasonReserved}, {"::ffff:0:7f00:1", ReasonReserved},
		// Translation prefixes that embed a refused IPv4 address.
		{"64:ff9b::7f00:1", ReasonTranslated}, {"64:ff9b::a9fe:a9fe", ReasonTranslated}, {"64:ff9b::c0a8:101", ReasonTranslated},
		{"2002:7f00:1::1", ReasonTranslated}, {"2002:a9fe:a9fe::", ReasonTranslated}, {"2002:0a00:0001::1", ReasonTranslated},
	} {
		a, err := netip.ParseAddr(tc.addr)
		if err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		if got := Classify(a); got != tc.want {
			t.Errorf("Classify(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	if got := Classify(netip.Addr{}); got == "" {
		t.Error("the zero Addr must be refused")
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url         string
		strict, dev bool // accepted without and with allow-private
	}{
		{"https://crm.example.com/partners", true, true},
		{"https://crm.example.com:8443/p?x=1", true, true},
		{"https://8.8.8.8/p", true, true},
		{"https://[2606:4700:4700::1111]/p", true, true},
		{"https://localhost/p", true, true}, // names are judged by the dialer, at each call
		{"http://crm.example.com/partners", false, true},
		{"http://127.0.0.1:8080/p", false, true},
		{"https://127.0.0.1/p", false, true},
		{"https://127.1/p", false, false},
		{"https://2130706433/p", false, false},
		{"https://0x7f000001/p", false, false},
		{"https://0177.0.0.1/p", false, false},
		{"https://[::1]/p", false, true},
		{"https://[::ffff:127.0.0.1]/p", false, true},
		{"https://[::ffff:7f00:1]/p", false, true},
		{"https://10.1.2.3/p", false, true},
		{"https://172.20.0.1/p", false, true},
		{"https://192.168.0.10/p", false, true},
		{"https://100.64.1.1/p", false, true},
		{"https://[fd00::1]/p", false, true},
		{"https://[fe80::1%25eth0]/p", false, true},
		{"https://0.0.0.0/p", false, true},
		{"https://224.0.0.1/p", false, true},
		{"https://255.255.255.255/p", false, true},
		{"https://192.0.2.10/p", false, true},
		{"https://169.254.169.254/latest/meta-data/", false, false},
		{"https://[::ffff:169.254.169.254]/", false, false},
		{"https://[fd00:ec2::254]/", false, false},
		{"http://169.254.169.254/", false, false},
		{"https://user:pw@crm.example.com/p", false, false},
		{"ftp://crm.example.com/p", false, false},
		{"file:///etc/passwd", false, false},
		{"gopher://127.0.0.1:25/", false, false},
		{"//crm.example.com/p", false, false},
		{"/relative", false, false},
		{"https:opaque", false, false},
		{"https://", false, false},
		{"https://crm.example.com/" + string(make([]byte, 2000)), false, false},
		{"", false, false},
	} {
		if err := CheckURL(tc.url, false); (err == nil) != tc.strict {
			t.Errorf("CheckURL(%q, false) = %v, want accepted %v", tc.url, err, tc.strict)
		}
		if err := CheckURL(tc.url, true); (err == nil) != tc.dev {
			t.Errorf("CheckURL(%q, true) = %v, want accepted %v", tc.url, err, tc.dev)
		}
	}
}

// FuzzCheckURL checks that an accepted URL never names a refused literal
// address nor a scheme other than https.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://example.com/", "https://127.0.0.1/", "http://[::ffff:10.0.0.1]/", "https://[fe80::1%25x]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if CheckURL(raw, false) != nil {
			return
		}
		c := New(Options{})
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", raw, err)
		}
		if u.Scheme != "https" {
			t.Fatalf("accepted %q with scheme %q", raw, u.Scheme)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && Classify(a) != "" {
			t.Fatalf("accepted %q, a %s address", raw, Classify(a))
		}
		if err := c.checkScheme(u); err != nil {
			t.Fatalf("accepted %q, which Do refuses: %v", raw, err)
		}
	})
}
