package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testParams are cheap parameters that keep the tests fast.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Base64 of 16 bytes 0x00..0x0f and of 32 bytes 0x00..0x1f, for building
// encoded hashes by hand.
const (
	saltB64 = "AAECAwQFBgcICQoLDA0ODw"
	keyB64  = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
)

func TestDefaultParams(t *testing.T) {
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", got, want)
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v", err)
	}
}

func TestParamsValidate(t *testing.T) {
	ok := testParams
	with := func(f func(p *Params)) Params {
		p := ok
		f(&p)
		return p
	}
	tests := []struct {
		name    string
		p       Params
		wantErr string // substring; "" means valid
	}{
		{"test params", ok, ""},
		{"default params", DefaultParams(), ""},
		{"minimum memory for one thread", with(func(p *Params) { p.Memory = 8 }), ""},
		{"minimum memory for four threads", with(func(p *Params) { p.Memory, p.Threads = 32, 4 }), ""},
		{"maximum memory", with(func(p *Params) { p.Memory = 1 << 20 }), ""},
		{"maximum time", with(func(p *Params) { p.Time = 100 }), ""},
		{"minimum salt and key", with(func(p *Params) { p.SaltLen, p.KeyLen = 8, 16 }), ""},
		{"maximum salt and key", with(func(p *Params) { p.SaltLen, p.KeyLen = 1024, 1024 }), ""},
		{"zero value", Params{}, "threads"},
		{"zero threads", with(func(p *Params) { p.Threads = 0 }), "threads must be at least 1"},
		{"memory below 8 KiB", with(func(p *Params) { p.Memory = 7 }), "memory 7 KiB is below"},
		{"memory below 8 KiB per thread", with(func(p *Params) { p.Memory, p.Threads = 31, 4 }), "memory 31 KiB is below"},
		{"memory above 1 GiB", with(func(p *Params) { p.Memory = 1<<20 + 1 }), "memory 1048577 KiB is above"},
		{"zero time", with(func(p *Params) { p.Time = 0 }), "time 0"},
		{"time above 100", with(func(p *Params) { p.Time = 101 }), "time 101"},
		{"short salt", with(func(p *Params) { p.SaltLen = 7 }), "salt length 7"},
		{"long salt", with(func(p *Params) { p.SaltLen = 1025 }), "salt length 1025"},
		{"short key", with(func(p *Params) { p.KeyLen = 15 }), "key length 15"},
		{"long key", with(func(p *Params) { p.KeyLen = 1025 }), "key length 1025"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate() = nil, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Validate() = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewHasherPanicsOnInvalidParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewHasher with zero Params did not panic")
		}
	}()
	NewHasher(Params{}, 1)
}

func TestNewHasherConcurrency(t *testing.T) {
	tests := []struct {
		concurrency, want int
	}{
		{1, 1},
		{3, 3},
		{0, runtime.GOMAXPROCS(0)},
		{-5, runtime.GOMAXPROCS(0)},
	}
	for _, tt := range tests {
		h := NewHasher(testParams, tt.concurrency)
		if got := cap(h.slots); got != tt.want {
			t.Errorf("NewHasher(_, %d) has %d slots, want %d", tt.concurrency, got, tt.want)
		}
		if got := h.Params(); got != testParams {
			t.Errorf("Params() = %+v, want %+v", got, testParams)
		}
	}
}

func TestHashFormat(t *testing.T) {
	h := NewHasher(DefaultParams(), 1)
	encoded, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(encoded, prefix) {
		t.Fatalf("Hash() = %q, want prefix %q", encoded, prefix)
	}
	fields := strings.Split(strings.TrimPrefix(encoded, prefix), "$")
	if len(fields) != 2 {
		t.Fatalf("Hash() = %q, want salt and key after the parameters", encoded)
	}
	for i, want := range []int{16, 32} {
		b, err := b64.DecodeString(fields[i])
		if err != nil || len(b) != want {
			t.Errorf("field %q decodes to %d bytes (err %v), want %d", fields[i], len(b), err, want)
		}
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := NewHasher(testParams, 2)
	ctx := context.Background()
	tests := []struct {
		name, password, wrong string
	}{
		{"ascii", "correct horse battery staple", "correct horse battery stapl"},
		{"empty", "", " "},
		{"unicode", "pässwörd 🔑 日本語", "passwörd 🔑 日本語"},
		{"case", "Secret-Password", "secret-password"},
		{"long", strings.Repeat("abc", 1000), strings.Repeat("abc", 999)},
		{"nul byte", "abc\x00def", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := h.Hash(ctx, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			ok, err := h.Verify(ctx, tt.password, encoded)
			if err != nil || !ok {
				t.Fatalf("Verify(right password) = %v, %v; want true, nil", ok, err)
			}
			ok, err = h.Verify(ctx, tt.wrong, encoded)
			if err != nil || ok {
				t.Fatalf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
			}
			again, err := h.Hash(ctx, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if again == encoded {
				t.Fatalf("two hashes of the same password are equal (%q): salt not random", encoded)
			}
		})
	}
}

// TestVerifyOtherParams checks that Verify reads the parameters from the
// hash rather than using the Hasher's own.
func TestVerifyOtherParams(t *testing.T) {
	ctx := context.Background()
	old := NewHasher(Params{Memory: 32, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}, 1)
	cur := NewHasher(testParams, 1)
	encoded, err := old.Hash(ctx, "hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := cur.Verify(ctx, "hunter2hunter2", encoded); err != nil || !ok {
		t.Fatalf("Verify with other params = %v, %v; want true, nil", ok, err)
	}
	if !cur.NeedsRehash(encoded) {
		t.Error("NeedsRehash(hash with old params) = false, want true")
	}
	if old.NeedsRehash(encoded) {
		t.Error("NeedsRehash(hash with own params) = true, want false")
	}
}

func TestVerifyTampered(t *testing.T) {
	h := NewHasher(testParams, 1)
	ctx := context.Background()
	const password = "tamper-proof-password"
	encoded, err := h.Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndexByte(encoded, '$')
	saltStart := strings.LastIndexByte(encoded[:i], '$') + 1
	// flip replaces the base64 character at j with another one of the same
	// 6-bit group so that the string stays canonical.
	flip := func(s string, j int) string {
		c := byte('A')
		if s[j] == 'A' {
			c = 'B'
		}
		return s[:j] + string(c) + s[j+1:]
	}
	tests := []struct {
		name, encoded string
	}{
		{"key first char", flip(encoded, i+1)},
		{"key middle char", flip(encoded, i+20)},
		{"salt first char", flip(encoded, saltStart)},
		{"time", strings.Replace(encoded, "t=1,", "t=2,", 1)},
		{"memory", strings.Replace(encoded, "m=64,", "m=72,", 1)},
		{"threads", strings.Replace(encoded, "p=1$", "p=2$", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.encoded == encoded {
				t.Fatal("tampering did not change the hash")
			}
			ok, err := h.Verify(ctx, password, tt.encoded)
			if err != nil || ok {
				t.Fatalf("Verify(tampered) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

// malformedHashes are encoded strings Verify must reject without hashing.
var malformedHashes = []struct {
	name, encoded string
}{
	{"empty", ""},
	{"plain text", "password"},
	{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
	{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"uppercase algorithm", "$ARGON2ID$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"version missing", "$argon2id$m=64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"version leading zero", "$argon2id$v=019$m=64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"text before leading dollar", "x$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"no leading dollar", "argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"key missing", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64},
	{"extra field", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64 + "$"},
	{"trailing newline", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64 + "\n"},
	{"params reordered", "$argon2id$v=19$t=1,m=64,p=1$" + saltB64 + "$" + keyB64},
	{"param missing", "$argon2id$v=19$m=64,t=1$" + saltB64 + "$" + keyB64},
	{"extra param", "$argon2id$v=19$m=64,t=1,p=1,k=1$" + saltB64 + "$" + keyB64},
	{"spaces", "$argon2id$v=19$m=64, t=1, p=1$" + saltB64 + "$" + keyB64},
	{"memory not a number", "$argon2id$v=19$m=lots,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"memory empty", "$argon2id$v=19$m=,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"memory negative", "$argon2id$v=19$m=-64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"memory plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"memory leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"memory overflows uint32", "$argon2id$v=19$m=4294967296,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"memory above 1 GiB", "$argon2id$v=19$m=1048577,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"memory 4 GiB", "$argon2id$v=19$m=4294967295,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"memory below 8 KiB per thread", "$argon2id$v=19$m=15,t=1,p=2$" + saltB64 + "$" + keyB64},
	{"memory zero", "$argon2id$v=19$m=0,t=1,p=1$" + saltB64 + "$" + keyB64},
	{"time zero", "$argon2id$v=19$m=64,t=0,p=1$" + saltB64 + "$" + keyB64},
	{"time above 100", "$argon2id$v=19$m=64,t=101,p=1$" + saltB64 + "$" + keyB64},
	{"time huge", "$argon2id$v=19$m=64,t=4294967295,p=1$" + saltB64 + "$" + keyB64},
	{"threads zero", "$argon2id$v=19$m=64,t=1,p=0$" + saltB64 + "$" + keyB64},
	{"threads above 255", "$argon2id$v=19$m=64,t=1,p=256$" + saltB64 + "$" + keyB64},
	{"salt empty", "$argon2id$v=19$m=64,t=1,p=1$$" + keyB64},
	{"salt too short", "$argon2id$v=19$m=64,t=1,p=1$AAECAwQFBg$" + keyB64},
	{"salt padded", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "==$" + keyB64},
	{"salt url alphabet", "$argon2id$v=19$m=64,t=1,p=1$AAECAwQFBgcICQoLDA0O-_$" + keyB64},
	{"salt non-canonical trailing bits", "$argon2id$v=19$m=64,t=1,p=1$AAECAwQFBgcICQoLDA0ODx$" + keyB64},
	{"salt too long", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 1400) + "$" + keyB64},
	{"key empty", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$"},
	{"key too short", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + saltB64[:20]},
	{"key not base64", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + strings.Repeat("!", 43)},
	{"key too long", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + strings.Repeat("A", 1400)},
	{"whole string too long", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64 + strings.Repeat("A", 5000)},
}

func TestVerifyMalformed(t *testing.T) {
	var hashed atomic.Int32
	h := NewHasher(testParams, 1)
	h.inSlot = func() { hashed.Add(1) }

	// The hand-built pieces must form a valid hash, or every case below
	// would pass for the wrong reason.
	valid := "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64
	if _, err := h.Verify(context.Background(), "x", valid); err != nil {
		t.Fatalf("Verify(valid hand-built hash) = %v", err)
	}
	hashed.Store(0)

	for _, tt := range malformedHashes {
		t.Run(tt.name, func(t *testing.T) {
			// Checked first: should the parser accept an absurd cost, the
			// test fails here instead of spending it.
			if p, _, _, err := decodeHash(tt.encoded); !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("decodeHash(%q) = %+v, %v; want ErrMalformedHash", tt.encoded, p, err)
			}
			ok, err := h.Verify(context.Background(), "password", tt.encoded)
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) = %v, %v; want false, ErrMalformedHash", tt.encoded, ok, err)
			}
			if !h.NeedsRehash(tt.encoded) {
				t.Errorf("NeedsRehash(%q) = false, want true", tt.encoded)
			}
		})
	}
	if n := hashed.Load(); n != 0 {
		t.Errorf("%d malformed hashes took a hashing slot, want 0", n)
	}
}

func TestNeedsRehash(t *testing.T) {
	h := NewHasher(testParams, 1)
	tests := []struct {
		name    string
		encoded string
		want    bool
	}{
		{"same params", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64, false},
		{"other memory", "$argon2id$v=19$m=128,t=1,p=1$" + saltB64 + "$" + keyB64, true},
		{"other time", "$argon2id$v=19$m=64,t=2,p=1$" + saltB64 + "$" + keyB64, true},
		{"other threads", "$argon2id$v=19$m=64,t=1,p=2$" + saltB64 + "$" + keyB64, true},
		{"other salt length", "$argon2id$v=19$m=64,t=1,p=1$AAECAwQFBgc$" + keyB64, true},
		{"other key length", "$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + saltB64, true},
		{"malformed", "$argon2id$v=19$m=64,t=1,p=1$", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.NeedsRehash(tt.encoded); got != tt.want {
				t.Fatalf("NeedsRehash(%q) = %v, want %v", tt.encoded, got, tt.want)
			}
		})
	}
}

// TestVerifyDummy checks what makes VerifyDummy cost the same as Verify: its
// hash carries exactly the Hasher's parameters, and it does one computation
// in the pool.
func TestVerifyDummy(t *testing.T) {
	for _, p := range []Params{testParams, DefaultParams(), {Memory: 256, Time: 3, Threads: 4, SaltLen: 24, KeyLen: 64}} {
		h := NewHasher(p, 1)
		got, _, _, err := decodeHash(h.dummy)
		if err != nil {
			t.Fatalf("dummy hash %q does not parse: %v", h.dummy, err)
		}
		if got != p {
			t.Errorf("dummy hash has params %+v, want %+v", got, p)
		}
		if h.NeedsRehash(h.dummy) {
			t.Errorf("NeedsRehash(dummy) = true for params %+v", p)
		}
	}

	var hashed atomic.Int32
	h := NewHasher(testParams, 1)
	h.inSlot = func() { hashed.Add(1) }
	h.VerifyDummy(context.Background(), "any password")
	if n := hashed.Load(); n != 1 {
		t.Fatalf("VerifyDummy did %d hash computations, want 1", n)
	}
	_, salt1, key1, _ := decodeHash(h.dummy)
	_, salt2, key2, _ := decodeHash(NewHasher(testParams, 1).dummy)
	if bytes.Equal(salt1, salt2) || bytes.Equal(key1, key2) {
		t.Fatal("two Hashers share a dummy salt or key: they are not random")
	}
}

// parkedHasher returns a Hasher whose computations stop inside their slot
// until release is closed; each sends on entered when it takes a slot.
func parkedHasher(concurrency int) (h *Hasher, entered chan struct{}, release chan struct{}) {
	h = NewHasher(testParams, concurrency)
	entered = make(chan struct{}, 100)
	release = make(chan struct{})
	h.inSlot = func() {
		entered <- struct{}{}
		<-release
	}
	return h, entered, release
}

func TestConcurrencyBounded(t *testing.T) {
	for _, concurrency := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("concurrency=%d", concurrency), func(t *testing.T) {
			h, entered, release := parkedHasher(concurrency)
			callers := concurrency + 4
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for i := range callers {
				wg.Go(func() {
					if i%2 == 0 {
						_, err := h.Hash(context.Background(), "password")
						errs <- err
					} else {
						_, err := h.Verify(context.Background(), "password", h.dummy)
						errs <- err
					}
				})
			}
			for range concurrency {
				select {
				case <-entered:
				case <-time.After(5 * time.Second):
					t.Fatalf("fewer than %d computations started", concurrency)
				}
			}
			// All slots are held: nobody else may get in.
			select {
			case <-entered:
				t.Fatalf("more than %d computations running at once", concurrency)
			case <-time.After(50 * time.Millisecond):
			}
			if n := h.inFlight.Load(); n != int32(concurrency) {
				t.Fatalf("inFlight = %d, want %d", n, concurrency)
			}
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := len(entered); got != callers-concurrency {
				t.Errorf("%d late computations ran, want %d", got, callers-concurrency)
			}
			if n := h.maxInFlight.Load(); n != int32(concurrency) {
				t.Errorf("maxInFlight = %d, want %d", n, concurrency)
			}
			if n := h.inFlight.Load(); n != 0 {
				t.Errorf("inFlight = %d after all calls returned, want 0", n)
			}
		})
	}
}

// TestConcurrencyBoundedUnderLoad runs real hashes, without parking, from
// many goroutines and checks the high-water mark.
func TestConcurrencyBoundedUnderLoad(t *testing.T) {
	for _, concurrency := range []int{1, 2} {
		h := NewHasher(testParams, concurrency)
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				if _, err := h.Hash(context.Background(), "password"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := h.maxInFlight.Load(); n < 1 || n > int32(concurrency) {
			t.Errorf("concurrency %d: maxInFlight = %d, want 1..%d", concurrency, n, concurrency)
		}
	}
}

func TestContextDoneWhileWaiting(t *testing.T) {
	ops := []struct {
		name string
		call func(ctx context.Context, h *Hasher) error
	}{
		{"Hash", func(ctx context.Context, h *Hasher) error {
			_, err := h.Hash(ctx, "password")
			return err
		}},
		{"Verify", func(ctx context.Context, h *Hasher) error {
			_, err := h.Verify(ctx, "password", h.dummy)
			return err
		}},
		{"VerifyDummy", func(ctx context.Context, h *Hasher) error {
			h.VerifyDummy(ctx, "password")
			return ctx.Err()
		}},
	}
	ctxs := []struct {
		name    string
		make    func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, op := range ops {
		for _, c := range ctxs {
			t.Run(op.name+"/"+c.name, func(t *testing.T) {
				h, entered, release := parkedHasher(1)
				holder := make(chan error, 1)
				go func() {
					_, err := h.Hash(context.Background(), "holder")
					holder <- err
				}()
				<-entered // the only slot is now held

				ctx, cancel := c.make()
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- op.call(ctx, h) }()
				select {
				case err := <-done:
					if !errors.Is(err, c.wantErr) {
						t.Fatalf("err = %v, want %v", err, c.wantErr)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("call did not return after its context was done")
				}
				if len(entered) != 0 {
					t.Fatal("waiting call took a slot after its context was done")
				}

				close(release)
				if err := <-holder; err != nil {
					t.Fatalf("slot holder: %v", err)
				}
			})
		}
	}
}

func TestContextDoneBeforeCall(t *testing.T) {
	var hashed atomic.Int32
	h := NewHasher(testParams, 1)
	h.inSlot = func() { hashed.Add(1) }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A slot is free, yet the done context must win every time.
	for range 20 {
		if _, err := h.Hash(ctx, "password"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash: err = %v, want context.Canceled", err)
		}
		if _, err := h.Verify(ctx, "password", h.dummy); !errors.Is(err, context.Canceled) {
			t.Fatalf("Verify: err = %v, want context.Canceled", err)
		}
		h.VerifyDummy(ctx, "password")
	}
	if n := hashed.Load(); n != 0 {
		t.Fatalf("%d computations ran with a cancelled context, want 0", n)
	}
}

// FuzzDecodeHash checks that parsing stored hashes never panics, that it
// accepts only parameters within bounds, and that whatever it accepts is in
// canonical form (re-encoding gives back the input).
func FuzzDecodeHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$" + saltB64 + "$" + keyB64)
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$" + saltB64 + "$" + keyB64)
	for _, tt := range malformedHashes {
		f.Add(tt.encoded)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		p, salt, key, err := decodeHash(encoded)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted out-of-range params: %v", err)
		}
		if int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("params %+v disagree with salt (%d) and key (%d) lengths", p, len(salt), len(key))
		}
		if again := encodeHash(p, salt, key); again != encoded {
			t.Fatalf("accepted non-canonical %q; canonical form is %q", encoded, again)
		}
	})
}
