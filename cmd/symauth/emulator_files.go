package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/internal/fileread"
	"github.com/symauth/symauth/symauthtest"
)

// The files the emulator writes into --dir.
const (
	caCertFile     = "ca.pem"
	caKeyFile      = "ca-key.pem"
	botPrivateFile = "bot-private.pem"
	botPublicFile  = "bot-public.pem"
	botP12File     = "bot.p12"
	configFile     = "config.yaml"
)

// readCA reads the CA kept in dir (--keep): its certificate and key, or nil
// and nil when dir holds neither.
func readCA(dir string) (certPEM, keyPEM []byte, err error) {
	certPEM, certErr := fileread.Read(filepath.Join(dir, caCertFile), maxCredentialBytes)
	keyPEM, keyErr := fileread.Read(filepath.Join(dir, caKeyFile), maxCredentialBytes)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return nil, nil, nil
	case certErr != nil:
		return nil, nil, fmt.Errorf("--keep: %w", certErr)
	case keyErr != nil:
		return nil, nil, fmt.Errorf("--keep: %w (delete %s too for a new CA)", keyErr, caCertFile)
	}
	return certPEM, keyPEM, nil
}

// writeEmulatorFiles registers the bot (an RSA key and certificate login) and
// writes its credentials, the CA and a BDK config into f.dir. With --keep, it
// reuses the bot's key and config.yaml found there and writes only the files
// missing (and bot.p12 again when the CA is new, keptCA false).
func writeEmulatorFiles(srv *symauthtest.Server, f emulatorFlags, keptCA bool, progress io.Writer) error {
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	exists := func(name string) bool {
		_, err := os.Stat(path(name))
		return err == nil
	}

	var key *rsa.PrivateKey
	keptKey := false
	if f.keep && exists(botPrivateFile) {
		data, err := fileread.Read(path(botPrivateFile), maxCredentialBytes)
		if err != nil {
			return fmt.Errorf("--keep: %w", err)
		}
		if key, err = symauth.ParsePrivateKey(data); err != nil {
			return fmt.Errorf("--keep: %s: %w", path(botPrivateFile), err)
		}
		keptKey = true
	} else {
		fmt.Fprintf(progress, "symauth emulator: generating a %d-bit RSA key for %q…\n", f.keyBits, f.bot)
		if key, err = rsa.GenerateKey(rand.Reader, f.keyBits); err != nil {
			return err
		}
	}
	if _, err := srv.RegisterUser(f.bot, &key.PublicKey); err != nil {
		return err
	}
	// The certificate allows the bot's certificate login with any certificate
	// from the CA, a kept bot.p12's included.
	cert, err := srv.IssueClientCertificate(f.bot)
	if err != nil {
		return err
	}

	type file struct {
		name string
		data func() ([]byte, error)
		perm os.FileMode
	}
	var files []file
	var kept []string
	add := func(keep bool, name string, perm os.FileMode, data func() ([]byte, error)) {
		if keep {
			kept = append(kept, name)
			return
		}
		files = append(files, file{name, data, perm})
	}
	add(keptCA, caCertFile, 0o644, func() ([]byte, error) { return srv.CACertPEM(), nil })
	add(keptCA, caKeyFile, 0o600, srv.CAKeyPEM)
	add(keptKey, botPrivateFile, 0o600, func() ([]byte, error) {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), err
	})
	add(keptKey && exists(botPublicFile), botPublicFile, 0o644, func() ([]byte, error) {
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), err
	})
	add(keptCA && exists(botP12File), botP12File, 0o600, func() ([]byte, error) {
		return pkcs12.Modern.Encode(cert.PrivateKey, cert.Leaf, nil, p12Password)
	})
	keptConfig := f.keep && exists(configFile)
	add(keptConfig, configFile, 0o644, func() ([]byte, error) {
		u, err := url.Parse(srv.URL)
		if err != nil {
			return nil, err
		}
		return bdkConfig(u, f.bot, dir), nil
	})

	var written []string
	for _, file := range files {
		data, err := file.data()
		if err != nil {
			return err
		}
		if err := replaceFile(path(file.name), data, file.perm); err != nil {
			return err
		}
		written = append(written, file.name)
	}
	if len(written) > 0 {
		fmt.Fprintf(progress, "symauth emulator: wrote %s to %s (bot.p12's password: %s)\n", strings.Join(written, ", "), dir, p12Password)
	}
	if len(kept) > 0 {
		fmt.Fprintf(progress, "symauth emulator: kept %s in %s (--keep)\n", strings.Join(kept, ", "), dir)
	}
	if keptConfig {
		if cfg, err := bdkconfig.Load(path(configFile)); err != nil {
			fmt.Fprintf(progress, "symauth emulator: warning: the kept %s: %v\n", configFile, err)
		} else if cfg.PodURL() != srv.URL {
			fmt.Fprintf(progress, "symauth emulator: warning: the kept %s points at %s, not at %s: give --addr its port, or delete it\n",
				configFile, cfg.PodURL(), srv.URL)
		}
	}
	return nil
}

// replaceFile replaces the file name with data, with permissions perm, whatever
// the permissions of the file it replaces: it writes a new file (mode 0600
// from the start) next to it and renames it over name.
func replaceFile(name string, data []byte, perm os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
