package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// Bounds on argon2id parameters. They apply both to the parameters a
// [Hasher] is built with ([Params.Validate]) and to the parameters read back
// from a stored hash, so that every hash a Hasher writes can be verified and
// a poisoned row cannot make Verify allocate or compute without bound.
const (
	minMemoryPerThreadKiB = 8       // argon2 needs 8 KiB (two blocks per sync point) per lane
	maxMemoryKiB          = 1 << 20 // 1 GiB
	maxTime               = 100
	minSaltLen            = 8
	maxSaltLen            = 1024
	minKeyLen             = 16
	maxKeyLen             = 1024

	// maxEncodedLen bounds the length of an encoded hash accepted for
	// parsing; it is comfortably above the longest string the bounds above
	// allow.
	maxEncodedLen = 4096
)

// b64 is the unpadded standard base64 alphabet used by the PHC string
// format. Strict decoding rejects non-zero trailing bits, which keeps the
// encoding of a hash canonical.
var b64 = base64.RawStdEncoding.Strict()

// ErrMalformedHash reports an encoded password hash that cannot be parsed or
// whose parameters are out of the accepted range. Errors returned by
// [Hasher.Verify] for such input wrap it.
var ErrMalformedHash = errors.New("malformed argon2id hash")

// Params are argon2id cost parameters.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// SaltLen is the length in bytes of the random salt.
	SaltLen uint32
	// KeyLen is the length in bytes of the derived key.
	KeyLen uint32
}

// DefaultParams returns the default cost parameters: 19 MiB of memory, two
// passes, one thread, a 16-byte salt and a 32-byte key (the OWASP
// recommendation for argon2id).
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p is usable: at least one thread, at least
// 8 KiB of memory per thread and at most 1 GiB, between 1 and 100 passes,
// a salt of 8 to 1024 bytes and a key of 16 to 1024 bytes. The upper bounds
// are the ones [Hasher.Verify] enforces on stored hashes.
func (p Params) Validate() error {
	if err := p.check(); err != nil {
		return fmt.Errorf("auth: invalid argon2id params: %w", err)
	}
	return nil
}

// check returns p's problems as one error, nil when there are none.
func (p Params) check() error {
	var problems []string
	if p.Threads < 1 {
		problems = append(problems, "threads must be at least 1")
	}
	if p.Memory < minMemoryPerThreadKiB*uint32(p.Threads) {
		problems = append(problems, fmt.Sprintf("memory %d KiB is below %d KiB per thread", p.Memory, minMemoryPerThreadKiB))
	}
	if p.Memory > maxMemoryKiB {
		problems = append(problems, fmt.Sprintf("memory %d KiB is above %d KiB", p.Memory, maxMemoryKiB))
	}
	if p.Time < 1 || p.Time > maxTime {
		problems = append(problems, fmt.Sprintf("time %d is outside [1, %d]", p.Time, maxTime))
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		problems = append(problems, fmt.Sprintf("salt length %d is outside [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen))
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		problems = append(problems, fmt.Sprintf("key length %d is outside [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen))
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// Hasher hashes and verifies passwords with argon2id. At most a fixed number
// of hash computations run at once; further callers wait for a free slot.
// This bounds both CPU and memory (each computation allocates
// Params.Memory KiB, or the memory named in the stored hash).
//
// A Hasher is safe for concurrent use. Create one with [NewHasher]; the zero
// value is not usable.
type Hasher struct {
	params Params
	slots  chan struct{}
	// dummy is an encoded hash with the Hasher's params, used by VerifyDummy.
	dummy string

	// inFlight counts computations holding a slot; maxInFlight is its
	// high-water mark. Both exist so tests can observe the bound.
	inFlight    atomic.Int32
	maxInFlight atomic.Int32
	// inSlot, when non-nil, is called while a slot is held, before hashing.
	// Tests set it, before the Hasher is shared, to park work in the pool.
	inSlot func()

	// waiting counts callers waiting for a slot; onWait, when set, is told
	// how long each computation waited.
	waiting atomic.Int32
	onWait  func(time.Duration)
}

// PoolStats returns the number of slots, the computations holding one and
// those waiting for one, for metrics.
func (h *Hasher) PoolStats() (size, running, waiting int) {
	return cap(h.slots), int(h.inFlight.Load()), int(h.waiting.Load())
}

// ObserveWait makes the Hasher call f with the time each computation waited
// for a slot. Call it before the Hasher is shared.
func (h *Hasher) ObserveWait(f func(time.Duration)) { h.onWait = f }

// NewHasher returns a Hasher that hashes new passwords with p and runs at
// most concurrency computations at once (runtime.GOMAXPROCS(0) when
// concurrency <= 0).
//
// NewHasher panics if p is invalid; check parameters that come from
// configuration with [Params.Validate] first.
func NewHasher(p Params, concurrency int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	// The dummy hash only has to cost exactly what a real one costs to
	// verify. That cost is set by the parameters alone, so a random salt and
	// a random key stand in for a real hash, without spending a hash
	// computation here. No password verifies against it except by chance
	// (probability 2^-(8·KeyLen)).
	salt := make([]byte, p.SaltLen)
	key := make([]byte, p.KeyLen)
	rand.Read(salt) // never returns an error; crashes the program if randomness is unavailable
	rand.Read(key)
	return &Hasher{
		params: p,
		slots:  make(chan struct{}, concurrency),
		dummy:  encodeHash(p, salt, key),
	}
}

// Params returns the parameters the Hasher hashes new passwords with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the argon2id hash of password with a fresh random salt, in
// the PHC string format, here with [DefaultParams]:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64. If every slot is busy, Hash
// waits for one; it returns ctx's error (wrapped) if ctx is done before a
// slot frees up. A computation that has started is not interrupted.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	var key []byte
	err := h.run(ctx, func() {
		key = argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	})
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return encodeHash(p, salt, key), nil
}

// Verify reports whether password matches encoded, a hash made by
// [Hasher.Hash] (possibly with other parameters, which are read from
// encoded). The comparison is constant-time.
//
// A malformed encoded string, or one whose parameters are out of the range
// [Params.Validate] accepts, is an error wrapping [ErrMalformedHash]; no
// hashing is done for it. Like Hash, Verify waits for a free slot and
// returns ctx's error (wrapped) if ctx is done first.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok bool, err error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, fmt.Errorf("auth: verify password: %w", err)
	}
	var got []byte
	err = h.run(ctx, func() {
		got = argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	})
	if err != nil {
		return false, fmt.Errorf("auth: verify password: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy spends the time a [Hasher.Verify] against a hash with the
// Hasher's parameters takes, and discards the outcome. Call it when the
// account being logged into does not exist, so that response times do not
// reveal which accounts exist.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	_, _ = h.Verify(ctx, password, h.dummy)
}

// NeedsRehash reports whether encoded should be replaced by a fresh hash
// because its parameters (memory, time, threads, salt or key length) differ
// from the Hasher's. It also reports true for a malformed encoded string.
// Call it after a successful [Hasher.Verify], when the password is at hand.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decodeHash(encoded)
	return err != nil || p != h.params
}

// run calls f while holding a slot of the pool.
func (h *Hasher) run(ctx context.Context, f func()) error {
	// Checked first because select picks at random among ready cases: a
	// done ctx must win even when a slot is free.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("waiting for a hashing slot: %w", err)
	}
	var start time.Time
	if h.onWait != nil {
		start = time.Now()
	}
	select {
	case h.slots <- struct{}{}:
	default:
		h.waiting.Add(1)
		select {
		case h.slots <- struct{}{}:
			h.waiting.Add(-1)
		case <-ctx.Done():
			h.waiting.Add(-1)
			return fmt.Errorf("waiting for a hashing slot: %w", ctx.Err())
		}
	}
	defer func() { <-h.slots }()
	if h.onWait != nil {
		h.onWait(time.Since(start))
	}

	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for {
		m := h.maxInFlight.Load()
		if n <= m || h.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if h.inSlot != nil {
		h.inSlot()
	}
	f()
	return nil
}

// encodeHash formats a hash in the PHC string format.
func encodeHash(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodeHash parses a hash in the PHC string format as encodeHash writes it.
// It accepts only the canonical form (no leading zeros, no trailing base64
// bits) and only parameters [Params.Validate] accepts; the returned Params
// carry the salt and key lengths found.
func decodeHash(encoded string) (p Params, salt, key []byte, err error) {
	malformed := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...))
	}
	if len(encoded) > maxEncodedLen {
		return Params{}, nil, nil, malformed("longer than %d bytes", maxEncodedLen)
	}
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return Params{}, nil, nil, malformed("want 5 '$'-separated fields")
	}
	if fields[1] != "argon2id" {
		return Params{}, nil, nil, malformed("algorithm is not argon2id")
	}
	version, ok := strings.CutPrefix(fields[2], "v=")
	if !ok || version != strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, malformed("version is not %d", argon2.Version)
	}
	costs := strings.Split(fields[3], ",")
	if len(costs) != 3 {
		return Params{}, nil, nil, malformed("want parameters m, t and p")
	}
	memory, err := parseParam(costs[0], "m=", 32)
	if err != nil {
		return Params{}, nil, nil, malformed("memory: %v", err)
	}
	passes, err := parseParam(costs[1], "t=", 32)
	if err != nil {
		return Params{}, nil, nil, malformed("time: %v", err)
	}
	threads, err := parseParam(costs[2], "p=", 8)
	if err != nil {
		return Params{}, nil, nil, malformed("threads: %v", err)
	}
	// Check the lengths of the base64 fields before decoding them.
	if len(fields[4]) > b64.EncodedLen(maxSaltLen) || len(fields[5]) > b64.EncodedLen(maxKeyLen) {
		return Params{}, nil, nil, malformed("salt or key too long")
	}
	if salt, err = decodeB64(fields[4]); err != nil {
		return Params{}, nil, nil, malformed("salt: %v", err)
	}
	if key, err = decodeB64(fields[5]); err != nil {
		return Params{}, nil, nil, malformed("key: %v", err)
	}
	p = Params{
		Memory:  uint32(memory),
		Time:    uint32(passes),
		Threads: uint8(threads),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.check(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters out of range: %w", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}

// decodeB64 decodes canonical unpadded standard base64. The decoder alone
// would also accept embedded line breaks, which it skips.
func decodeB64(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b64.EncodedLen(len(b)) != len(s) {
		return nil, errors.New("unexpected characters in base64")
	}
	return b, nil
}

// parseParam parses "<prefix><decimal>" where the decimal is canonical (no
// sign, no leading zeros) and fits in bits bits.
func parseParam(s, prefix string, bits int) (uint64, error) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, fmt.Errorf("want prefix %q", prefix)
	}
	v, err := strconv.ParseUint(digits, 10, bits)
	if err != nil {
		return 0, err
	}
	if strconv.FormatUint(v, 10) != digits {
		return 0, errors.New("not a canonical decimal")
	}
	return v, nil
}
