package auth

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/crypto/argon2"
)

// reportRate adds a hashes/s metric: completed hashes over wall time, which
// for parallel benchmarks is the throughput of all goroutines together.
func reportRate(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "hashes/s")
	}
}

// BenchmarkArgon2idBare measures argon2.IDKey at DefaultParams on every core
// at once, with no pool: the machine's bare hashing capacity.
func BenchmarkArgon2idBare(b *testing.B) {
	p := DefaultParams()
	password := []byte("correct horse battery staple")
	salt := make([]byte, p.SaltLen)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
	reportRate(b)
}

// BenchmarkHasherHash measures Hasher.Hash at DefaultParams from
// GOMAXPROCS goroutines through pools of one slot and of GOMAXPROCS slots.
func BenchmarkHasherHash(b *testing.B) {
	for _, concurrency := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			h := NewHasher(DefaultParams(), concurrency)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportRate(b)
		})
	}
}

// BenchmarkHasherVerify measures Hasher.Verify at DefaultParams through a
// pool of GOMAXPROCS slots.
func BenchmarkHasherVerify(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := h.Verify(ctx, "correct horse battery staple", encoded); err != nil || !ok {
				b.Errorf("Verify = %v, %v", ok, err)
				return
			}
		}
	})
	reportRate(b)
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := DefaultPolicy()
	IsCommon("") // build the set outside the timed loop
	b.ReportAllocs()
	for b.Loop() {
		p.Check("kV9#qLm2!xPz", "alice.smith@example.com")
	}
}

func BenchmarkWellFormedToken(b *testing.B) {
	token, _, err := NewToken()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		WellFormedToken(token)
	}
}
