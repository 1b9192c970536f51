// Package stack runs Consentry's embedded stack on one machine: a kfake Kafka broker
// with its data directory, franz-go's srfake schema registry seeded from schemas/, a
// throwaway PostgreSQL from the local binaries, the vendor simulator, and the four
// services — each its own OS process, configured by environment variables exactly as in
// production and restarted if it dies. Data lives under the data directory and survives
// a restart.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/consentry/consentry/devkit/devregistry"
	"github.com/consentry/consentry/devkit/freeport"
	"github.com/consentry/consentry/devkit/pgserver"
	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/webhooksig"
)

// Services, in start order: consumers of a topic come up with its producer already there.
var Services = []string{"consent-ingest", "unsubscribe-handler", "vendor-fanout", "audit-sink"}

// Ports of everything the stack serves. Services are the public API ports; Admin are
// the services' admin ports (/healthz, /readyz, /metrics).
type Ports struct {
	Kafka, Registry, Postgres, Simulator int
	// Console and IdP serve the console and its development identity provider, when
	// Config.Console asks for them.
	Console, IdP int
	Services     map[string]int
	Admin        map[string]int
}

// DefaultPorts are the embedded stack's ports (docs/architecture.md, "Ports and endpoints").
func DefaultPorts() Ports {
	return Ports{Kafka: 9092, Registry: 8085, Postgres: 5433, Simulator: 8090, Console: 8086, IdP: 8087, Services: map[string]int{
		"consent-ingest": 8081, "unsubscribe-handler": 8082, "vendor-fanout": 8083, "audit-sink": 8084,
	}, Admin: map[string]int{
		"consent-ingest": 8181, "unsubscribe-handler": 8182, "vendor-fanout": 8183, "audit-sink": 8184,
	}}
}

// FreePorts picks free ports for every part, for tests that run beside a dev stack.
func FreePorts() (Ports, error) {
	p := Ports{Services: map[string]int{}, Admin: map[string]int{}}
	fixed := []*int{&p.Kafka, &p.Registry, &p.Postgres, &p.Simulator, &p.Console, &p.IdP}
	picked, err := freeport.Pick(len(fixed) + 2*len(Services))
	if err != nil {
		return p, err
	}
	for i, dst := range fixed {
		*dst = picked[i]
	}
	for i, s := range Services {
		p.Services[s] = picked[len(fixed)+i]
		p.Admin[s] = picked[len(fixed)+len(Services)+i]
	}
	return p, nil
}

// Config configures a stack.
type Config struct {
	DataDir string // .data
	BinDir  string // where the service binaries are
	Ports   Ports
	// APIKey, when set, is the dev key (CONSENTRY_DEV_API_KEY); otherwise one is made once.
	APIKey string
	// Partitions of every topic. Default 6.
	Partitions int
	// SimulatorJobDelay is how long the simulator's async vendor jobs take. Default 2 s.
	SimulatorJobDelay time.Duration
	// SimulatorTokenLifetime is how long the simulator's token endpoints' access tokens
	// stay valid (default 2 h), to make a run outlive its vendor tokens.
	SimulatorTokenLifetime time.Duration
	// SimulatorNoRateLimits lets the simulator take calls faster than the vendors allow
	// (Amplitude: one a second), for load runs whose routing does so on purpose.
	SimulatorNoRateLimits bool
	// ServiceEnv is added to every service's environment (e.g. a faster retry policy).
	ServiceEnv map[string]string
	// RestartBackoffMax caps the wait before restarting a service that keeps dying.
	// Default 30 s.
	RestartBackoffMax time.Duration
	// TraceGroups logs every consumer-group request the broker receives (join, sync,
	// heartbeat, leave, commit) to logs/kafka-groups.log, to diagnose stuck groups.
	TraceGroups bool
	// PostgresSettings are extra PostgreSQL settings ("name=value").
	PostgresSettings []string
	// DebugPortBase, when set, gives the i-th of Services a profiler (CONSENTRY_DEBUG_ADDR)
	// on 127.0.0.1:DebugPortBase+i.
	DebugPortBase int
	// External, when set, points the services at a Kafka, registry and PostgreSQL
	// running elsewhere instead of starting the embedded ones.
	External *External
	// Console also starts the console and a development identity provider to sign in
	// to it (make run, the console's browser test).
	Console bool
	Log     *slog.Logger
}

// Stack is a running embedded stack.
type Stack struct {
	cfg       Config
	secrets   Secrets
	topics    kafka.Topics
	log       *slog.Logger
	cluster   *kfake.Cluster
	pg        *pgserver.Server
	Simulator *vendorsim.Simulator
	servers   []*http.Server
	procs     map[string]*process
	logFiles  []*os.File
	cancel    context.CancelFunc
	stopOnce  sync.Once

	mu       sync.Mutex // guards procs, logFiles and replicas once the stack runs
	replicas int
	janitor  *janitor
}

// Start brings everything up and waits until every service is ready.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.Partitions <= 0 {
		cfg.Partitions = 6
	}
	if cfg.SimulatorJobDelay <= 0 {
		cfg.SimulatorJobDelay = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.RestartBackoffMax <= 0 {
		cfg.RestartBackoffMax = 30 * time.Second
	}
	for _, dir := range []string{cfg.DataDir, filepath.Join(cfg.DataDir, "kafka"), filepath.Join(cfg.DataDir, "logs")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	s := &Stack{cfg: cfg, log: cfg.Log, topics: kafka.DefaultTopics(), procs: map[string]*process{}}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if s.secrets, err = loadSecrets(cfg.DataDir, cfg.APIKey); err != nil {
		return nil, err
	}
	if cfg.External != nil {
		if err := s.useExternal(ctx); err != nil {
			return nil, err
		}
	} else if err := s.startEmbedded(ctx); err != nil {
		return nil, err
	}
	if err := s.startSimulator(); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	if s.cluster != nil {
		go s.compactPeriodically(runCtx)
		go s.janitor.run(runCtx)
	}
	for _, name := range Services {
		if err := s.startService(runCtx, name); err != nil {
			return nil, err
		}
	}
	// Three minutes: a loaded machine starts four services, PostgreSQL and the broker
	// slowly, and the wait only lasts that long when something is wrong.
	if err := s.waitReady(ctx, 3*time.Minute); err != nil {
		return nil, err
	}
	if cfg.Console {
		if err := s.startConsole(runCtx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Stack) startEmbedded(ctx context.Context) error {
	if err := s.startKafka(ctx); err != nil {
		return err
	}
	if err := s.startRegistry(); err != nil {
		return err
	}
	return s.startPostgres(ctx)
}

func (s *Stack) kafkaOpts() []kfake.Opt {
	return []kfake.Opt{
		kfake.Ports(s.cfg.Ports.Kafka),
		kfake.DataDir(filepath.Join(s.cfg.DataDir, "kafka")),
		// fsync every batch: a 202 promises the event survives, even a crash of this process.
		kfake.SyncWrites(),
		kfake.DefaultNumPartitions(s.cfg.Partitions),
	}
}

func (s *Stack) startKafka(ctx context.Context) error {
	cluster, err := kfake.NewCluster(s.kafkaOpts()...)
	if err != nil {
		return fmt.Errorf("stack: kafka on port %d: %w", s.cfg.Ports.Kafka, err)
	}
	s.cluster = cluster
	if s.janitor, err = newJanitor(s.Brokers(), s.cfg.DataDir, s.cfg.TraceGroups, s.log); err != nil {
		return err
	}
	s.janitor.watch(cluster)
	admin := kafka.NewAdmin(s.Brokers(), nil)
	defer admin.Close()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := admin.EnsureTopics(tctx, s.topics.Specs(s.cfg.Partitions, 1)); err != nil {
		return fmt.Errorf("stack: topics: %w", err)
	}
	// A data directory from before the ingest topic had a short retention keeps the
	// topic as it was made, and consent-ingest refuses an ingest topic kept longer.
	for _, spec := range s.topics.Specs(s.cfg.Partitions, 1) {
		if spec.Name == s.topics.Ingest || spec.Name == kafka.DeadLetterTopic(s.topics.Ingest) {
			if err := admin.SetTopicConfig(tctx, spec.Name, spec.Configs); err != nil {
				return fmt.Errorf("stack: topics: %w", err)
			}
		}
	}
	return nil
}

// ApplyRetention deletes the records older than their topic's retention now, as a real
// broker's log cleaner does every few minutes (log.retention.check.interval.ms); kfake
// does it only when asked, or hourly.
func (s *Stack) ApplyRetention() { s.cluster.ApplyRetention() }

// compactPeriodically runs kfake's log compaction, which a real broker does on its own:
// the suppression topic should hold the latest state per address, as tools expect.
func (s *Stack) compactPeriodically(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.cluster.Compact()
		}
	}
}

func (s *Stack) listen(port int, h http.Handler) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go srv.Serve(l)
	return nil
}

func (s *Stack) startRegistry() error {
	reg := srfake.NewRegistry()
	if err := devregistry.Seed(reg, s.topics); err != nil {
		return err
	}
	if err := s.listen(s.cfg.Ports.Registry, reg.Handler()); err != nil {
		return fmt.Errorf("stack: schema registry: %w", err)
	}
	return nil
}

func (s *Stack) startPostgres(ctx context.Context) error {
	srv, err := pgserver.Start(ctx, pgserver.Options{
		Dir: filepath.Join(s.cfg.DataDir, "postgres"), Port: s.cfg.Ports.Postgres, Durable: true, Log: s.log,
		Settings: append(writeHeavy(), s.cfg.PostgresSettings...),
	})
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	s.pg = srv
	return srv.CreateDatabase(ctx, "consentry")
}

// writeHeavy are the settings a DBA gives a database that takes thousands of small
// transactions a second (deploy/README.md lists them for production): fewer
// checkpoints, hence fewer full-page images in the WAL, and those compressed.
func writeHeavy() []string {
	return []string{"wal_compression=on", "max_wal_size=4GB", "checkpoint_timeout=15min", "shared_buffers=256MB"}
}

func (s *Stack) startSimulator() error {
	keys, err := webhooksig.ParseKeys(s.secrets.WebhookSigningKeys)
	if err != nil {
		return fmt.Errorf("stack: secrets.json webhook_signing_keys: %w", err)
	}
	s.Simulator = vendorsim.New(vendorsim.Options{
		JobDelay:      s.cfg.SimulatorJobDelay,
		NoRateLimits:  s.cfg.SimulatorNoRateLimits,
		TokenLifetime: s.cfg.SimulatorTokenLifetime,
		// What a Customer would fetch from GET /.well-known/webhook-keys.
		WebhookKeys: keys.Public(time.Now()).Keys,
		Logger:      s.log,
	})
	if err := s.listen(s.cfg.Ports.Simulator, s.Simulator.Handler()); err != nil {
		return fmt.Errorf("stack: vendor simulator: %w", err)
	}
	return nil
}

// env is the production-shaped environment of one service.
func (s *Stack) env(name string) []string {
	sim := s.SimulatorURL()
	// The dev key is a product's for every tenant, and may vouch that a person was verified
	// (verify), as a signed-in product would; the operator key runs the pipeline; acme's key
	// is that demo Customer's own (controller). docs/api-keys.md.
	vars := map[string]string{
		"CONSENTRY_HTTP_ADDR":             fmt.Sprintf("127.0.0.1:%d", s.cfg.Ports.Services[name]),
		"CONSENTRY_ADMIN_ADDR":            fmt.Sprintf("127.0.0.1:%d", s.cfg.Ports.Admin[name]),
		"CONSENTRY_KAFKA_BROKERS":         strings.Join(s.Brokers(), ","),
		"CONSENTRY_SCHEMA_REGISTRY_URL":   s.RegistryURL(),
		"CONSENTRY_POSTGRES_URL":          s.PostgresURL(),
		"CONSENTRY_API_KEYS":              "dev:" + s.secrets.APIKey + ":*:" + ProductPermissions + ",ops:" + s.secrets.OperatorKey + ":*,acme:" + s.secrets.CustomerKey + ":acme:controller" + s.consoleKeys(),
		"CONSENTRY_SUBJECT_PEPPER":        s.secrets.Pepper,
		"CONSENTRY_MASTER_KEYS":           s.secrets.MasterKeys,
		"CONSENTRY_LINK_KEYS":             s.secrets.LinkKeys,
		"CONSENTRY_PUBLIC_URL":            s.URL("unsubscribe-handler"),
		"CONSENTRY_KAFKA_SESSION_TIMEOUT": "6s", // kfake's minimum: a killed consumer's partitions move quickly
		"CONSENTRY_LOG_LEVEL":             "info",
		// As deploy/README.md asks for a pod limited to 256 MiB: without a soft limit the
		// Go heap may double past its live size (GOGC=100) before collecting, and
		// vendor-fanout's transient batch encodings took it to ~320 MiB at saturation.
		"GOMEMLIMIT": "192MiB",
	}
	if name == "consent-ingest" {
		// Product services may submit over Kafka too, for either demo tenant
		// (docs/kafka-ingest.md).
		vars["CONSENTRY_INGEST_TOPICS"] = s.topics.Ingest + "=consumer|acme"
		// The simulator's signed-webhook receiver plays the email sender that mails
		// verification links and every enterprise Customer's request endpoint: what they
		// were sent is in GET /_sim/calls.
		vars["CONSENTRY_VERIFICATION_SENDER_URL"] = sim + "/webhook/verification-sender"
		vars["CONSENTRY_CONTROLLER_WEBHOOKS"] = "*=" + sim + "/webhook/customer"
		vars["CONSENTRY_WEBHOOK_SIGNING_KEYS"] = s.secrets.WebhookSigningKeys
		vars["CONSENTRY_VERIFY_BASE_URL"] = s.URL("consent-ingest")
	}
	if name == "unsubscribe-handler" {
		// A grant from a preference-center link waits for the person's confirmation,
		// which the same simulated sender mails.
		vars["CONSENTRY_VERIFICATION_SENDER_URL"] = sim + "/webhook/verification-sender"
		vars["CONSENTRY_WEBHOOK_SIGNING_KEYS"] = s.secrets.WebhookSigningKeys
	}
	if name == "vendor-fanout" {
		// Every vendor of the seed routing table, the API ones pointed at the simulator.
		vars["CONSENTRY_ROUTING"] = "seed"
		for k, v := range map[string]string{
			"HUBSPOT_BASE_URL": sim + "/hubspot", "HUBSPOT_TOKEN": "dev-hubspot-token",
			"AMPLITUDE_BASE_URL": sim + "/amplitude", "AMPLITUDE_API_KEY": "dev-amplitude-key", "AMPLITUDE_SECRET_KEY": "dev-amplitude-secret",
			"POSTHOG_BASE_URL": sim + "/posthog", "POSTHOG_API_KEY": "phx_dev", "POSTHOG_PROJECT_ID": "1",
			"FULLSTORY_BASE_URL": sim + "/fullstory", "FULLSTORY_API_KEY": "dev-fullstory-key",
			"LINKEDIN_BASE_URL": sim + "/linkedin", "LINKEDIN_ACCESS_TOKEN": "dev-linkedin-token", "LINKEDIN_SEGMENT_ID": "4242",
			"SALESFORCE_BASE_URL": sim + "/salesforce", "SALESFORCE_ACCESS_TOKEN": "dev-salesforce-token",
			"SENDGRID_BASE_URL": sim + "/sendgrid", "SENDGRID_API_KEY": "dev-sendgrid-key",
			// For a routing that enables the generic webhook: the simulator's receiver.
			"WEBHOOK_URL": sim + "/webhook/consentry",
		} {
			vars["CONSENTRY_VENDOR_"+k] = v
		}
		vars["CONSENTRY_WEBHOOK_SIGNING_KEYS"] = s.secrets.WebhookSigningKeys
		// Simulator jobs finish in seconds, not weeks: check them at that pace.
		vars["CONSENTRY_FANOUT_POLL_INTERVAL"] = "1s"
		vars["CONSENTRY_FANOUT_POLL_MAX"] = "10s"
	}
	if s.cfg.DebugPortBase > 0 {
		if i := slices.Index(Services, name); i >= 0 {
			vars["CONSENTRY_DEBUG_ADDR"] = fmt.Sprintf("127.0.0.1:%d", s.cfg.DebugPortBase+i)
		}
	}
	for k, v := range s.cfg.ServiceEnv {
		vars[k] = v
	}
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

func (s *Stack) startService(ctx context.Context, name string) error {
	path := filepath.Join(s.cfg.BinDir, name)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("stack: %s binary: %w (run make build)", name, err)
	}
	f, err := os.OpenFile(filepath.Join(s.cfg.DataDir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	s.logFiles = append(s.logFiles, f)
	p := &process{name: name, path: path, env: s.env(name), out: f, log: s.log, maxBackoff: s.cfg.RestartBackoffMax}
	s.procs[name] = p
	p.start(ctx)
	return nil
}

// Ready reports whether a service answers /readyz (on its admin port) with 200.
func (s *Stack) Ready(ctx context.Context, name string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.AdminURL(name)+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *Stack) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, name := range Services {
		for {
			resp, err := http.Get(s.AdminURL(name) + "/readyz")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("stack: %s not ready after %v; its last words (%s):\n%s", name, timeout, s.LogPath(name), tail(s.LogPath(name), 10))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// Stop stops the services gracefully (SIGTERM: they drain and commit), then the
// simulator, registry, broker (flushing its data directory) and database.
func (s *Stack) Stop() {
	s.stopOnce.Do(func() {
		var wg sync.WaitGroup
		s.mu.Lock()
		procs := make([]*process, 0, len(s.procs))
		for _, p := range s.procs {
			procs = append(procs, p)
		}
		s.mu.Unlock()
		for _, p := range procs {
			wg.Add(1)
			go func() { defer wg.Done(); p.stop(30 * time.Second) }()
		}
		wg.Wait()
		if s.cancel != nil {
			s.cancel()
		}
		for _, srv := range s.servers {
			srv.Close()
		}
		if s.cluster != nil {
			s.cluster.Close()
		}
		if s.pg != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			s.pg.Stop(ctx)
			cancel()
		}
		for _, f := range s.logFiles {
			f.Close()
		}
		if s.janitor != nil {
			s.janitor.close()
		}
	})
}

func (s *Stack) proc(name string) (*process, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[name]
	return p, ok
}

// Kill sends SIGKILL to a service process (or replica); the supervisor restarts it.
func (s *Stack) Kill(name string) error {
	p, ok := s.proc(name)
	if !ok {
		return errors.New("stack: no service " + name)
	}
	return p.kill()
}

// Pause stops a service's process where it stands (SIGSTOP) until Resume; it keeps its
// connections and state. A pause longer than the session timeout costs its consumer
// group membership, which it rejoins on Resume.
func (s *Stack) Pause(name string) error { return s.signal(name, syscall.SIGSTOP) }

// Terminate asks a service (or replica) to stop as Kubernetes does on a rollout
// (SIGTERM: it turns not-ready, drains, commits and exits); the supervisor then starts
// it again, like the new pod.
func (s *Stack) Terminate(name string) error { return s.signal(name, syscall.SIGTERM) }

// Resume continues a paused service.
func (s *Stack) Resume(name string) error { return s.signal(name, syscall.SIGCONT) }

func (s *Stack) signal(name string, sig syscall.Signal) error {
	pid := s.PID(name)
	if pid <= 0 {
		return fmt.Errorf("stack: %s is not running", name)
	}
	return syscall.Kill(pid, sig)
}

// SetEnv sets one variable of a service's environment for its next start (a Terminate
// or a crash); restore puts back the environment it had, for the start after.
func (s *Stack) SetEnv(name, key, value string) (restore func(), err error) {
	p, ok := s.proc(name)
	if !ok {
		return nil, errors.New("stack: no service " + name)
	}
	was := p.setEnv(key, value)
	return func() { p.replaceEnv(was) }, nil
}

// Restarts returns how often a service was restarted after dying.
func (s *Stack) Restarts(name string) int {
	p, _ := s.proc(name)
	return p.Restarts()
}

// PID returns a service's current process id.
func (s *Stack) PID(name string) int {
	p, _ := s.proc(name)
	return p.pid()
}

// Brokers returns the Kafka bootstrap address.
func (s *Stack) Brokers() []string {
	if s.cfg.External != nil {
		return s.cfg.External.Brokers
	}
	return []string{"127.0.0.1:" + strconv.Itoa(s.cfg.Ports.Kafka)}
}

// Topics returns the topic names.
func (s *Stack) Topics() kafka.Topics { return s.topics }

// RegistryURL returns the schema registry's URL.
func (s *Stack) RegistryURL() string {
	if s.cfg.External != nil {
		return s.cfg.External.RegistryURL
	}
	return fmt.Sprintf("http://127.0.0.1:%d", s.cfg.Ports.Registry)
}

// SimulatorURL returns the vendor simulator's URL.
func (s *Stack) SimulatorURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.cfg.Ports.Simulator)
}

// PostgresURL returns the database URL the services use.
func (s *Stack) PostgresURL() string {
	if s.cfg.External != nil {
		return s.cfg.External.PostgresURL
	}
	return s.pg.URL("consentry")
}

// URL returns a service's base URL.
func (s *Stack) URL(name string) string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.cfg.Ports.Services[name])
}

// AdminURL returns the base URL of a service's admin listener (/healthz, /readyz,
// /metrics), which is not the API's.
func (s *Stack) AdminURL(name string) string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.cfg.Ports.Admin[name])
}

// ProductPermissions are the dev key's: the product default of docs/api-keys.md, for
// every tenant, plus verify.
const ProductPermissions = "consents:write|requests:write|requests:read|links:write|email-events:write|suppressions:read|verify"

// APIKey returns the dev product key, valid for every tenant (ProductPermissions).
func (s *Stack) APIKey() string { return s.secrets.APIKey }

// OperatorKey returns the dev operator key: every tenant, the operator default set.
func (s *Stack) OperatorKey() string { return s.secrets.OperatorKey }

// CustomerKey returns the demo enterprise Customer acme's own API key.
func (s *Stack) CustomerKey() string { return s.secrets.CustomerKey }

// Metrics reads a service's Prometheus exposition, the one place tests learn where a
// service serves its metrics.
func (s *Stack) Metrics(ctx context.Context, name string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.AdminURL(name)+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("stack: %s /metrics: %d", name, resp.StatusCode)
	}
	return string(b), err
}

// LogPath returns where a service's output goes.
func (s *Stack) LogPath(name string) string { return filepath.Join(s.cfg.DataDir, "logs", name+".log") }

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
