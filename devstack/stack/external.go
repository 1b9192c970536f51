package stack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/consentry/consentry/platform/kafka"
)

// External names a Kafka, a schema registry and a PostgreSQL already running elsewhere
// (in containers, say) for the services to use in place of the embedded ones. The stack
// still runs the vendor simulator and supervises the four services.
type External struct {
	Brokers     []string
	RegistryURL string
	// PostgresURL is the database the services share; it must exist.
	PostgresURL string
}

func (e *External) validate() error {
	var errs []error
	if len(e.Brokers) == 0 {
		errs = append(errs, errors.New("stack: external Kafka needs brokers"))
	}
	if e.RegistryURL == "" {
		errs = append(errs, errors.New("stack: external schema registry needs a URL"))
	}
	if e.PostgresURL == "" {
		errs = append(errs, errors.New("stack: external PostgreSQL needs a URL"))
	}
	return errors.Join(errs...)
}

// useExternal creates the topics on the external Kafka, as a deployment's topic
// operator would. The registry is left to the services, which register their schemas
// (CONSENTRY_SCHEMA_AUTO_REGISTER defaults to true).
func (s *Stack) useExternal(ctx context.Context) error {
	if err := s.cfg.External.validate(); err != nil {
		return err
	}
	admin := kafka.NewAdmin(s.cfg.External.Brokers, nil)
	defer admin.Close()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := admin.EnsureTopics(tctx, s.topics.Specs(s.cfg.Partitions, 1)); err != nil {
		return fmt.Errorf("stack: topics on the external Kafka: %w", err)
	}
	return nil
}
