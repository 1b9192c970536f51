package stack

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/consentry/consentry/devkit/freeport"
)

// These operations break the stack on purpose, for the chaos suite: the same faults a
// production deployment meets — a broker restart, a database crash, consumers coming and
// going — on the same ports and data, so that clients must recover by themselves.

// RestartKafka stops the broker, keeps it down for downFor, and starts it again on the
// same port with the same data directory.
func (s *Stack) RestartKafka(downFor time.Duration) error {
	s.cluster.Close()
	time.Sleep(downFor)
	cluster, err := kfake.NewCluster(s.kafkaOpts()...)
	if err != nil {
		return fmt.Errorf("stack: restart kafka: %w", err)
	}
	s.cluster = cluster
	s.janitor.watch(cluster)
	return nil
}

// CrashPostgres stops PostgreSQL like `pg_ctl stop -m immediate` (no checkpoint: the next
// start runs crash recovery), keeps it down for downFor, and starts it again.
func (s *Stack) CrashPostgres(ctx context.Context, downFor time.Duration) error {
	if err := s.pg.Crash(ctx); err != nil {
		return err
	}
	time.Sleep(downFor)
	return s.pg.Restart(ctx)
}

// AddReplica starts one more process of a service, in the same consumer group, on a new
// port, and returns its name.
func (s *Stack) AddReplica(ctx context.Context, name string) (string, error) {
	ports, err := freeport.Pick(2)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.replicas++
	id := fmt.Sprintf("%s-%d", name, s.replicas)
	s.mu.Unlock()
	env := append(s.env(name), fmt.Sprintf("CONSENTRY_HTTP_ADDR=127.0.0.1:%d", ports[0]), // os/exec keeps the last of a repeated variable
		fmt.Sprintf("CONSENTRY_ADMIN_ADDR=127.0.0.1:%d", ports[1]), "CONSENTRY_DEBUG_ADDR=")
	f, err := os.OpenFile(filepath.Join(s.cfg.DataDir, "logs", id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	p := &process{name: id, path: filepath.Join(s.cfg.BinDir, name), env: env, out: f, log: s.log, maxBackoff: s.cfg.RestartBackoffMax}
	s.mu.Lock()
	s.logFiles = append(s.logFiles, f)
	s.procs[id] = p
	s.mu.Unlock()
	p.start(ctx)
	return id, nil
}

// RemoveReplica stops a replica: gracefully (SIGTERM, as a scale-down) or with SIGKILL.
func (s *Stack) RemoveReplica(id string, kill bool) {
	s.mu.Lock()
	p, ok := s.procs[id]
	delete(s.procs, id)
	s.mu.Unlock()
	if !ok {
		return
	}
	if kill {
		_ = p.kill()
	}
	p.stop(30 * time.Second)
}

// BuildServices builds the service binaries into dir, as `make build` does; race adds
// the race detector to the services themselves, and tags are build tags (the chaos suite
// passes failpoint.BuildTag, which no production build has).
func BuildServices(dir string, race bool, tags ...string) error {
	out, err := exec.Command("go", "env", "GOWORK").Output()
	root := filepath.Dir(strings.TrimSpace(string(out)))
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return fmt.Errorf("stack: cannot find the workspace root (go env GOWORK): %v", err)
	}
	args := []string{"build", "-o", dir + "/"}
	if race {
		args = append(args, "-race")
	}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	for _, svc := range Services {
		args = append(args, "./services/"+svc)
	}
	// The console is no pipeline service (no admin port, no Kafka), but a stack started
	// with Config.Console runs it from the same directory.
	args = append(args, "./services/console")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("stack: building the services: %v\n%s", err, out)
	}
	return nil
}

// CheckBuildTag returns an error unless every service binary in dir was built with the
// build tag: a chaos run against binaries without failpoint.BuildTag would arm crash
// points that cannot fire, and pass without having tested them.
func CheckBuildTag(dir, tag string) error {
	var errs []error
	for _, svc := range Services {
		path := filepath.Join(dir, svc)
		info, err := buildinfo.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("stack: %s: %w", path, err))
			continue
		}
		found := false
		for _, s := range info.Settings {
			if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), tag) {
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("stack: %s was built without -tags %s", path, tag))
		}
	}
	return errors.Join(errs...)
}
