package containers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/modules/redpanda"

	"github.com/consentry/consentry/devstack/scenarios"
	"github.com/consentry/consentry/devstack/stack"
)

// Images, pinned so that a run is reproducible; override to try another version.
var (
	redpandaImage = envOr("CONSENTRY_TEST_REDPANDA_IMAGE", "docker.redpanda.com/redpandadata/redpanda:v24.3.7")
	postgresImage = envOr("CONSENTRY_TEST_POSTGRES_IMAGE", "postgres:17-alpine")
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TestScenariosOnContainers runs every shared scenario on one environment: Redpanda and
// PostgreSQL in containers, the services as processes supervised by devstack/stack.
func TestScenariosOnContainers(t *testing.T) {
	requireDocker(t)
	env := startOnContainers(t)
	t.Run("consent and erasure", func(t *testing.T) { scenarios.ConsentAndErasure(t, env) })
	t.Run("privacy requests", func(t *testing.T) { scenarios.PrivacyRequests(t, env) })
}

// requireDocker skips unless a Docker engine answers. The cheap check comes first: with
// no DOCKER_HOST and no socket there is nothing to ask, and the reason says so plainly.
func requireDocker(t *testing.T) {
	t.Helper()
	if os.Getenv("DOCKER_HOST") == "" && !anySocket() {
		t.Skip("no Docker engine (DOCKER_HOST is unset and there is no Docker socket): the containers suite needs one that can pull " +
			redpandaImage + " and " + postgresImage + "; the same scenarios run on the embedded stack in devstack/e2e")
	}
	testcontainers.SkipIfProviderIsNotHealthy(t)
}

func anySocket() bool {
	candidates := []string{"/var/run/docker.sock"}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		candidates = append(candidates, filepath.Join(dir, "docker.sock"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".docker", "run", "docker.sock"))
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return true
		}
	}
	return false
}

func startOnContainers(t *testing.T) *stack.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	rp, err := redpanda.Run(ctx, redpandaImage)
	testcontainers.CleanupContainer(t, rp)
	if err != nil {
		t.Fatalf("redpanda: %v", err)
	}
	brokers, err := rp.KafkaSeedBroker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	registry, err := rp.SchemaRegistryAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}

	pg, err := postgres.Run(ctx, postgresImage,
		postgres.WithDatabase("consentry"), postgres.WithUsername("consentry"), postgres.WithPassword("consentry"),
		postgres.BasicWaitStrategies())
	testcontainers.CleanupContainer(t, pg)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	pgURL, err := pg.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}

	binDir := t.TempDir()
	if err := stack.BuildServices(binDir, raceEnabled); err != nil {
		t.Fatal(err)
	}
	ports, err := stack.FreePorts()
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.Start(ctx, t, stack.Config{DataDir: t.TempDir(), BinDir: binDir, Ports: ports,
		External: &stack.External{Brokers: strings.Split(brokers, ","), RegistryURL: registry, PostgresURL: pgURL}})
}

var _ scenarios.Env = (*stack.Stack)(nil)
