package secretbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// ReadFile reads a keyring written in a file (surrounding space ignored).
func ReadFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	k, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateFile reads the keyring in path or, when the file does not
// exist, creates it (mode 0600, never overwriting a file another process
// created meanwhile) with one new random key. created tells which.
func LoadOrCreateFile(path string, now time.Time) (k *Keyring, created bool, err error) {
	k, err = ReadFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	text := Generate(now)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		k, err = ReadFile(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create secret key file: %w", err)
	}
	_, werr := f.WriteString(text + "\n")
	if serr := f.Sync(); werr == nil {
		werr = serr
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("create secret key file: %w", werr)
	}
	k, err = Parse(text)
	return k, err == nil, err
}
