package main

import (
	"errors"
	"io"

	"github.com/consentry/consentry/platform/config"
)

type serviceConfig struct {
	config.Common
	Kafka    config.Kafka
	Registry config.Registry
}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (serviceConfig, error) {
	var c serviceConfig
	l := config.NewLoader("audit-sink", getenv, stderr)
	l.RegisterCommon(&c.Common, ":8084")
	l.RegisterKafka(&c.Kafka)
	l.RegisterRegistry(&c.Registry)
	if err := l.Parse(args); err != nil {
		return c, err
	}
	return c, errors.Join(c.Common.Validate(), c.Kafka.Validate())
}
