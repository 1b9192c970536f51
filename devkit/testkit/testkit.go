// Package testkit starts the real infrastructure integration tests talk to: a kfake Kafka
// broker spoken to over TCP by kafka-go, a throwaway PostgreSQL from the machine's own
// binaries, and an in-process schema registry. Nothing here is a fake of our own making.
//
// A package using Postgres should call testkit.Main from TestMain so the server is
// stopped when its tests end; if it does not, the server still dies with the test process.
package testkit

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/consentry/consentry/devkit/apispec"
	"github.com/consentry/consentry/devkit/devregistry"
	"github.com/consentry/consentry/devkit/pgserver"
	"github.com/consentry/consentry/platform/kafka"
)

// Main runs the tests, stops the PostgreSQL server if one was started, and fails the run
// if goroutines outlive the tests (a consumer, lane or server not shut down).
func Main(m *testing.M) {
	os.Exit(run(m))
}

// MainWithOpenAPI is Main for a service's tests that also validates every exchange the
// tests have through http.DefaultClient (testkit.Call among them) against the service's
// OpenAPI document (devkit/apispec.Transport), failing the run on any finding.
func MainWithOpenAPI(m *testing.M, name string, spec []byte) {
	doc, err := apispec.Load(name, spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	validated := &apispec.Transport{Base: http.DefaultTransport, Docs: []*apispec.Doc{doc}}
	http.DefaultClient.Transport = validated
	code := run(m)
	if f := validated.Failures(); len(f) > 0 {
		fmt.Fprintf(os.Stderr, "OpenAPI: %d exchanges differ from %s's document:\n  %s\n", len(f), name, strings.Join(f, "\n  "))
		code = 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "OpenAPI: %d exchanges validated against %s's document\n", validated.Checked(), name)
	}
	os.Exit(code)
}

func run(m *testing.M) int {
	code := m.Run()
	shared.stop()
	if code == 0 {
		if err := goleak.Find(leakOptions()...); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	return code
}

// leakOptions ignore goroutines owned by libraries that keep them for the process:
// pgx's and kafka-go's idle-connection reapers and the children's spawner thread.
func leakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/consentry/consentry/devkit/childproc.Start.func1.1"),
		goleak.IgnoreAnyFunction("github.com/consentry/consentry/devkit/childproc.Start.func1"),
	}
}

// KafkaEnv is a running broker with Consentry's topics.
type KafkaEnv struct {
	Brokers []string
	Topics  kafka.Topics
	Cluster *kfake.Cluster
}

// Partitions is the partition count of every topic the kit creates: more than one, so
// tests see per-partition ordering and commits, few enough to keep rebalances quick.
const Partitions = 4

// Kafka starts a single-broker kfake cluster on a random local port with every Consentry
// topic created through kafka-go's admin API, and stops it when the test ends.
func Kafka(t testing.TB, opts ...kfake.Opt) *KafkaEnv {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("testkit: start kfake: %v", err)
	}
	t.Cleanup(cluster.Close)
	env := &KafkaEnv{Brokers: cluster.ListenAddrs(), Topics: kafka.DefaultTopics(), Cluster: cluster}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := kafka.NewAdmin(env.Brokers, nil)
	defer admin.Close()
	if err := admin.EnsureTopics(ctx, env.Topics.Specs(Partitions, 1)); err != nil {
		t.Fatalf("testkit: create topics: %v", err)
	}
	return env
}

// Registry starts an in-process schema registry seeded with every schema version and
// returns its URL.
func Registry(t testing.TB, topics kafka.Topics) string {
	t.Helper()
	reg, err := devregistry.New(topics)
	if err != nil {
		t.Fatalf("testkit: registry: %v", err)
	}
	t.Cleanup(reg.Close)
	return reg.URL()
}

// Postgres returns the URL of a new, empty database on the package's shared throwaway
// server (started on first use, with fsync off for speed).
func Postgres(t testing.TB) string {
	t.Helper()
	srv, err := shared.get()
	if err != nil {
		t.Fatalf("testkit: postgres: %v", err)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), shared.seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.CreateDatabase(ctx, name); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return srv.URL(name)
}

// PostgresServer starts a server of the test's own, for tests that stop or crash it.
// durable keeps fsync on, which crash tests need.
func PostgresServer(t testing.TB, durable bool) *pgserver.Server {
	t.Helper()
	dir, err := os.MkdirTemp("", "consentry-pg-*")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := pgserver.Start(ctx, pgserver.Options{Dir: dir, Durable: durable})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("testkit: postgres: %v", err)
	}
	t.Cleanup(func() {
		srv.Stop(context.Background())
		os.RemoveAll(dir)
	})
	return srv
}

var shared sharedServer

type sharedServer struct {
	once sync.Once
	srv  *pgserver.Server
	dir  string
	err  error
	seq  atomic.Int64
}

func (s *sharedServer) get() (*pgserver.Server, error) {
	s.once.Do(func() {
		s.dir, s.err = os.MkdirTemp("", "consentry-pg-*")
		if s.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.srv, s.err = pgserver.Start(ctx, pgserver.Options{Dir: s.dir})
	})
	return s.srv, s.err
}

func (s *sharedServer) stop() {
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.srv.Stop(ctx)
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
