package main

import (
	"fmt"
	"net/url"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/agoracluster/agora/cors"
	"github.com/agoracluster/agora/duration"
	"github.com/agoracluster/agora/loglevel"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
)

// newFlagSet returns a flag set for one subcommand that reports errors instead of exiting.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("agora "+name, pflag.ContinueOnError)
	fs.SortFlags = false
	return fs
}

// parseFlags parses args, then fills every flag not given on the command line from
// AGORA_<FLAG> in env (the flag name upper-cased, dashes as underscores).
func parseFlags(fs *pflag.FlagSet, args []string, env func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		name := envName(f.Name)
		if v := env(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(errs, "; "))
	}
	return nil
}

// envName is the environment variable that sets flag name.
func envName(flag string) string {
	return "AGORA_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// durationFlag is a time.Duration flag that takes Go's form (4s, 500ms, 1h30m) and
// Mesos's (4secs, 500ms, 2mins, 1hrs, 3days).
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string { return f.d.String() }
func (f durationFlag) Type() string   { return "duration" }
func (f durationFlag) Set(s string) error {
	d, err := duration.Parse(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// durationVar defines a duration flag with Mesos-style parsing.
func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(durationFlag{p}, name, usage)
}

// newLogger builds the process logger at the given level ("debug", "info", "warn", "error").
func newLogger(level string) (*zap.Logger, error) {
	log, _, err := newToggledLogger(level)
	return log, err
}

// newToggledLogger is newLogger with the toggle of its level, which the master's and the
// agent's /logging/toggle and SET_LOGGING_LEVEL change; the caller stops it.
func newToggledLogger(level string) (*zap.Logger, *loglevel.Toggle, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, nil, fmt.Errorf("--logging_level: %w", err)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Encoding = "console"
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.Sampling = nil
	cfg.OutputPaths = []string{"stderr"}
	log, err := cfg.Build()
	if err != nil {
		return nil, nil, err
	}
	return log, loglevel.New(cfg.Level), nil
}

// osEnv is the process environment as a lookup function.
func osEnv(name string) string { return os.Getenv(name) }

// frameworkDefaults fills what a framework's flags left empty: the advertised hostname (the
// system's) and the user tasks run as (the current user).
func frameworkDefaults(name string, hostname, taskUser *string) error {
	if *hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("%s: hostname: %w", name, err)
		}
		*hostname = h
	}
	if *taskUser == "" {
		if u, err := user.Current(); err == nil {
			*taskUser = u.Username
		}
	}
	return nil
}

// flagValues is every flag's effective value by name, for the servers' GET_FLAGS
// and /flags; passwords in URLs (zk://user:secret@…) are shown as "xxxxx".
func flagValues(fs *pflag.FlagSet) map[string]string {
	out := map[string]string{}
	fs.VisitAll(func(f *pflag.Flag) { out[f.Name] = redactURLs(f.Value.String()) })
	return out
}

// redactURLs hides the password of a URL value (or of each URL in a
// comma-separated list of them).
func redactURLs(v string) string {
	if !strings.Contains(v, "://") || !strings.Contains(v, "@") {
		return v
	}
	parts := strings.Split(v, ",")
	for i, p := range parts {
		if u, err := url.Parse(p); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		} else if at := strings.LastIndex(p, "@"); at >= 0 && strings.Contains(p[:at], "://") {
			scheme := p[:strings.Index(p, "://")+3]
			parts[i] = scheme + "xxxxx" + p[at:]
		}
	}
	return strings.Join(parts, ",")
}

// readCredential reads a --credential file (Mesos's {"principal": …, "secret": …}, or one
// "principal secret" line); "" is no credential.
func readCredential(flag, path string) (credentials.Credential, error) {
	if path == "" {
		return credentials.Credential{}, nil
	}
	data, err := os.ReadFile(strings.TrimPrefix(path, "file://"))
	if err != nil {
		return credentials.Credential{}, fmt.Errorf("--%s: %w", flag, err)
	}
	c, err := credentials.ParseOne(data)
	if err != nil {
		return credentials.Credential{}, fmt.Errorf("--%s %s: %w", flag, path, err)
	}
	return c, nil
}

// frameworkCredential is Marathon's --mesos_authentication_principal with the secret read
// from --mesos_authentication_secret_file (its trailing newline dropped).
func frameworkCredential(principal, secretFile string) (credentials.Credential, error) {
	return principalCredential("mesos_authentication_principal", principal, "mesos_authentication_secret_file", secretFile, "")
}

// principalCredential is the credential of a principal flag and a secret file flag (the
// file's trailing newline dropped); secret, when no file is given, is the secret itself
// (from the environment). Neither set is no credential; one without the other is an
// error naming the flags.
func principalCredential(principalFlag, principal, secretFlag, secretFile, secret string) (credentials.Credential, error) {
	switch {
	case principal == "" && secretFile == "":
		return credentials.Credential{}, nil
	case principal == "":
		return credentials.Credential{}, fmt.Errorf("--%s needs --%s", secretFlag, principalFlag)
	case secretFile == "" && secret == "":
		return credentials.Credential{}, fmt.Errorf("--%s needs --%s", principalFlag, secretFlag)
	case secretFile == "":
		return credentials.Credential{Principal: principal, Secret: secret}, nil
	}
	data, err := os.ReadFile(secretFile)
	if err != nil {
		return credentials.Credential{}, fmt.Errorf("--%s: %w", secretFlag, err)
	}
	secret = strings.TrimRight(string(data), "\r\n")
	if secret == "" {
		return credentials.Credential{}, fmt.Errorf("--%s %s: the file is empty", secretFlag, secretFile)
	}
	return credentials.Credential{Principal: principal, Secret: secret}, nil
}

// frameworkAccessFlags are the flags marathon and batch share for who may reach them and
// how they reach the master: TLS, their Mesos principal, --http_credentials and CORS.
type frameworkAccessFlags struct {
	tls                              *tlsFlags
	httpCreds, principal, secretFile *string
	allowOrigin                      *string
}

func addFrameworkAccessFlags(fs *pflag.FlagSet, realm *string) *frameworkAccessFlags {
	f := &frameworkAccessFlags{tls: addTLSFlags(fs)}
	f.httpCreds = fs.String("http_credentials", "", "user:password every REST API request but /ping must carry (HTTP Basic); empty: none")
	fs.StringVar(realm, "http_realm", "Mesosphere", "realm of --http_credentials")
	f.principal = fs.String("mesos_authentication_principal", "", "principal the framework authenticates with to the master (with --mesos_authentication_secret_file)")
	f.secretFile = fs.String("mesos_authentication_secret_file", "", "file holding the secret of --mesos_authentication_principal")
	f.allowOrigin = fs.String("access_control_allow_origin", "",
		"origins whose pages may call the REST API from a browser, separated by commas (http://dash.example.com:8000), or * for any")
	return f
}

// frameworkAccess is what the flags give, once parsed.
type frameworkAccess struct {
	credential, httpCredentials credentials.Credential
	origins                     cors.Policy
}

// parse checks the flags (not the TLS files: load them with the logger); errors name the
// flag, prefixed with name.
func (f *frameworkAccessFlags) parse(name string) (frameworkAccess, error) {
	var out frameworkAccess
	var err error
	if out.credential, err = frameworkCredential(*f.principal, *f.secretFile); err != nil {
		return out, fmt.Errorf("%s: %w", name, err)
	}
	if *f.httpCreds != "" {
		if out.httpCredentials, err = authn.ParsePair(*f.httpCreds); err != nil {
			return out, fmt.Errorf("%s: --http_credentials: %w", name, err)
		}
	}
	if out.origins, err = cors.Parse(*f.allowOrigin); err != nil {
		return out, fmt.Errorf("%s: --access_control_allow_origin: %w", name, err)
	}
	return out, nil
}
