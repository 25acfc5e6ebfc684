package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/secretbox"
	"github.com/onboard-dev/onboard/internal/store"
)

// errNoSecretKey explains why PostgreSQL needs a configured key.
var errNoSecretKey = errors.New("secret key: ONBOARD_SECRET_KEY or ONBOARD_SECRET_KEY_FILE is required with PostgreSQL " +
	"(every node must use the same key, so none can be made up here); create one with: " +
	`echo "k1:$(openssl rand -base64 32)"`)

// Keyring returns the keys that seal secrets at rest: ONBOARD_SECRET_KEY,
// else the file secret-key-file names, else, on SQLite, the file beside the
// database "<db>.key", created (mode 0600, logged once) on the first start.
// PostgreSQL without a key is an error: nodes sharing the database must
// share the key, and a key made up by one node would lock out the others.
func Keyring(cfg config.Config, logger *slog.Logger) (*secretbox.Keyring, error) {
	switch {
	case cfg.SecretKey != "":
		k, err := secretbox.Parse(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("ONBOARD_SECRET_KEY: %w", err)
		}
		return k, nil
	case cfg.SecretKeyFile != "":
		return secretbox.ReadFile(cfg.SecretKeyFile)
	case store.IsPostgresDSN(cfg.DB):
		return nil, errNoSecretKey
	}
	path := store.SQLitePath(cfg.DB) + ".key"
	k, created, err := secretbox.LoadOrCreateFile(path, time.Now())
	if err != nil {
		return nil, err
	}
	if created {
		logger.Info("created the secret key file that encrypts secrets at rest; keep it with the database and back it up apart from it",
			"path", path, "key_id", k.ActiveID())
	}
	return k, nil
}

// OpenStore opens the configured database with the configured keyring,
// applies migrations and brings every stored secret under the active key
// (sealing what older versions wrote in plaintext). opts add to the store's
// options (tracing).
func OpenStore(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...store.Option) (*store.Store, error) {
	keys, err := Keyring(cfg, logger)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DB, append([]store.Option{store.WithKeyring(keys)}, opts...)...)
	if err != nil {
		return nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(applied) > 0 {
		logger.Info("migrations applied", "engine", st.Engine(), "names", strings.Join(applied, ","))
	}
	n, err := st.SealSecrets(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("secrets at rest: %w", err)
	}
	if n > 0 {
		logger.Info("secrets at rest sealed under the active key", "key_id", keys.ActiveID(), "values", n)
	}
	return st, nil
}
