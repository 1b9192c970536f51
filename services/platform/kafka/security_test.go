package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/consentry/consentry/platform/kafka"
)

// A broker that demands TLS and SCRAM, as managed Kafka does: the producer, the admin
// client and a consumer group all get through with the configured credentials, and a
// wrong password is refused.
func TestTLSAndSCRAM(t *testing.T) {
	caFile, serverTLS := selfSignedCA(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", "consentry", "s3cret-password"), kfake.TLS(serverTLS))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	sec := kafka.Security{SASLMechanism: "scram-sha-256", SASLUsername: "consentry", SASLPassword: "s3cret-password", CAFile: caFile}
	if err := sec.Load(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := kafka.NewAdmin(brokers, sec.Transport())
	defer admin.Close()
	if err := admin.EnsureTopics(ctx, []kafka.TopicSpec{{Name: "secured", Partitions: 1, ReplicationFactor: 1}}); err != nil {
		t.Fatalf("admin over TLS+SCRAM: %v", err)
	}
	producer, err := kafka.NewProducer(kafka.ProducerConfig{Brokers: brokers, Transport: sec.Transport()})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if err := producer.Publish(ctx, kafka.Message{Topic: "secured", Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatalf("publish over TLS+SCRAM: %v", err)
	}

	var (
		mu  sync.Mutex
		got []string
	)
	consumer, err := kafka.NewConsumer(kafka.ConsumerConfig{Brokers: brokers, Dialer: sec.Dialer(), GroupID: "secured-group",
		Topics: []string{"secured"}, SessionTimeout: 6 * time.Second, DeadLetters: kafka.NewDeadLetterer(producer, nil)},
		func(_ context.Context, m kafka.Message) (string, error) { return string(m.Value), nil },
		func(_ context.Context, batch []kafka.Record[string]) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range batch {
				got = append(got, r.Value)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	cctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); consumer.Run(cctx) }()
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	<-done
	if len(got) != 1 || got[0] != "v" {
		t.Fatalf("consumed %v over TLS+SCRAM, want [v]", got)
	}

	wrong := kafka.Security{SASLMechanism: "scram-sha-256", SASLUsername: "consentry", SASLPassword: "not-it", CAFile: caFile}
	if err := wrong.Load(); err != nil {
		t.Fatal(err)
	}
	bad, err := kafka.NewProducer(kafka.ProducerConfig{Brokers: brokers, Transport: wrong.Transport()})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	short, cancelShort := context.WithTimeout(ctx, 5*time.Second)
	defer cancelShort()
	if err := bad.Publish(short, kafka.Message{Topic: "secured", Value: []byte("x")}); err == nil {
		t.Error("a wrong password was let in")
	}
}

func TestSecurityLoadNamesWhatIsWrong(t *testing.T) {
	for name, c := range map[string]struct {
		sec  kafka.Security
		want string
	}{
		"unknown mechanism": {kafka.Security{SASLMechanism: "gssapi", SASLUsername: "u", SASLPassword: "p"}, "CONSENTRY_KAFKA_SASL_MECHANISM"},
		"no password":       {kafka.Security{SASLMechanism: "plain", SASLUsername: "u"}, "CONSENTRY_KAFKA_SASL_PASSWORD"},
		"missing CA":        {kafka.Security{CAFile: "/nonexistent/ca.pem"}, "CONSENTRY_KAFKA_TLS_CA_FILE"},
		"cert without key":  {kafka.Security{CertFile: "/nonexistent/cert.pem"}, "CONSENTRY_KAFKA_TLS_KEY_FILE"},
	} {
		err := c.sec.Load()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "p\"") {
			t.Errorf("%s: the error shows a secret: %v", name, err)
		}
	}
	if (kafka.Security{}).Enabled() || (kafka.Security{}).Transport() != nil || (kafka.Security{}).Dialer() != nil {
		t.Error("the zero Security is not plain TCP")
	}
}

// selfSignedCA writes a CA certificate to a file and returns it with a server TLS
// configuration whose certificate that CA signed for 127.0.0.1.
func selfSignedCA(t *testing.T) (string, *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}, MinVersion: tls.VersionTLS12}
}
