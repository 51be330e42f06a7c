package main

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/internal/fileread"
)

// The check with --config: its first step loads the BDK configuration file,
// and the steps after it check what the file configures.
//
// The file steps do not read the key or certificate again. bdkconfig.Load has
// read and checked them (PEM or PKCS#12, an RSA key's size, that the key is
// the certificate's, its CN and its dates) before the config step passes,
// and a problem there fails that step with bdkconfig.Load's message, which names
// the file, the line and the key. Reading them again would need the
// certificate's password, which a Config does not give out, and could read
// something else than the login uses (${VAR} substitution, inline or base64
// content). So those steps only say where the credential came from.
//
// The host steps present no client certificate, for the same reason: the
// login steps test it. The logins run once, through cfg.Session(); see
// check_login.go.

// checkConfig is the first step with --config: no flag that it replaces is
// given, the file loads and configures a bot, and its URLs are grouped by
// host for the host steps.
func (c *checker) checkConfig(context.Context) outcome {
	if err := c.flags.validate(); err != nil {
		return failed(err.Error(), "give --config FILE alone (--timeout may go with it), or the login flags without --config")
	}
	// A file that cannot be read gets the advice of the file steps, as its
	// flag's; the errors of bdkconfig.Load name a key in the file.
	if _, err := fileread.Read(c.flags.configFile, maxCredentialBytes); err != nil {
		return readFailure("--config", err)
	}
	cfg, err := bdkconfig.Load(c.flags.configFile, bdkconfig.WithOnLogin(c.logins.record), bdkconfig.WithLoginTimeout(c.flags.timeout))
	if err == nil {
		_, err = cfg.Session() // fails for a configuration without a bot
	}
	if err != nil {
		return failed(err.Error(), "fix the key named above")
	}
	c.cfg, c.roots = cfg, cfg.RootCAs()
	if err := c.addEndpoints(configURLs(cfg)); err != nil { // bdkconfig.Load has checked them: not expected
		return failed(err.Error(), "fix the server sections (scheme, host, port, context) of "+cfg.File)
	}
	c.setConfigProxies()
	if c.certLogin() {
		return passed("%s: certificate login as %q at %s", cfg.File, cfg.Bot.Username, cfg.SessionAuthURL())
	}
	return passed("%s: RSA login as %q at %s", cfg.File, cfg.Bot.Username, cfg.PodURL())
}

// configURLs are the URLs cfg configures, each named by its section.
func configURLs(cfg *bdkconfig.Config) loginURLs {
	in := func(section string) string { return section + " in " + cfg.File }
	return loginURLs{cert: cfg.Bot.Certificate != (bdkconfig.CredentialFile{}),
		pod:         endpoint{rolePod, in("pod"), cfg.PodURL()},
		keyManager:  endpoint{roleKeyManager, in("keyManager"), cfg.KeyManagerURL()},
		sessionAuth: endpoint{roleSessionAuth, in("sessionAuth"), cfg.SessionAuthURL()},
		agent:       endpoint{roleAgent, in("agent"), cfg.AgentURL()}}
}

// setConfigProxies gives each host the proxy the configuration routes it
// through, as the Config's transports do: that of the first section, in the
// order pod, agent, keyManager, sessionAuth, configured on the host. Hosts
// without one go through the environment's proxy, if any.
func (c *checker) setConfigProxies() {
	cfg := c.cfg
	sections := []struct {
		name, role, url string
		proxy           *bdkconfig.ProxyConfig
	}{
		{"pod", rolePod, cfg.PodURL(), cfg.Pod.Proxy},
		{"agent", roleAgent, cfg.AgentURL(), cfg.Agent.Proxy},
		{"keyManager", roleKeyManager, cfg.KeyManagerURL(), cfg.KeyManager.Proxy},
		{"sessionAuth", roleSessionAuth, cfg.SessionAuthURL(), cfg.SessionAuth.Proxy},
	}
	for _, h := range c.hosts {
		for _, s := range sections {
			if s.url == "" || !slices.Contains(h.roles, s.role) {
				continue
			}
			if p := s.proxy; p != nil {
				h.proxy = &url.URL{Scheme: "http", Host: net.JoinHostPort(strings.Trim(p.Host, "[]"), strconv.Itoa(p.Port))}
				h.proxyWhat = "the proxy of " + s.name + " in " + cfg.File
			}
			break
		}
	}
}

// checkConfigCredential is the key or certificate file step with --config.
func (c *checker) checkConfigCredential(context.Context) outcome {
	if c.certLogin() {
		return passed("%s: checked while loading %s", credentialSource(c.cfg.Bot.Certificate, "bot.certificate"), c.cfg.File)
	}
	return passed("%s: checked while loading %s", credentialSource(c.cfg.Bot.PrivateKey, "bot.privateKey"), c.cfg.File)
}

// checkConfigTrustStore is the CA step with --config, when the configuration
// has a trust store: c.roots, from cfg.RootCAs(), holds it.
func (c *checker) checkConfigTrustStore(context.Context) outcome {
	return passed("%s: trusted instead of the system roots; checked while loading %s",
		credentialSource(c.cfg.SSL.TrustStore, "ssl.trustStore"), c.cfg.File)
}

// credentialSource names where a credential of the configuration came from:
// its file, or key.content when it is inline.
func credentialSource(f bdkconfig.CredentialFile, key string) string {
	if f.Inline {
		return key + ".content"
	}
	return f.Path
}

// configKeys renames, in the advice of the steps after the config step, the
// flags to the configuration keys that take their place, so that the advice
// is written once for both.
var configKeys = strings.NewReplacer(
	"--pod", "pod", "--km", "keyManager", "--sessionauth", "sessionAuth", "--agent", "agent",
	"--user", "bot.username", "--key", "bot.privateKey", "--cert", "bot.certificate",
	"--password", "bot.certificate.password", "--ca", "ssl.trustStore",
	"check the flags", "check the configuration file",
)
