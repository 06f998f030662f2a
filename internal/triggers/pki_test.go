package triggers

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// issuerPath is where an SNS twin serves its intermediate CA (DER), as crt.r2m0N.amazontrust.com
// serves AWS's.
const issuerPath = "/r2m02.cer"

// testPKI is a root CA and an intermediate it issued; leaves name the intermediate's URL as
// their issuer (AIA), as SNS's certificates do.
type testPKI struct {
	root, inter *x509.Certificate
	interKey    *rsa.PrivateKey
	issuerURL   string
	serial      int64
}

func newTestPKI(tb testing.TB, issuerURL string) *testPKI {
	tb.Helper()
	p := &testPKI{issuerURL: issuerURL, serial: 10}
	rootKey := genKey(tb)
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Switchyard Test Root CA"},
		NotBefore: now.Add(-72 * time.Hour), NotAfter: now.Add(72 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	p.root = mustCert(tb, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	p.interKey = genKey(tb)
	interTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Switchyard Test RSA 2048 M02"},
		NotBefore: now.Add(-72 * time.Hour), NotAfter: now.Add(72 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	p.inter = mustCert(tb, interTmpl, p.root, &p.interKey.PublicKey, rootKey)
	return p
}

// roots is a pool of the root alone: the intermediate must be found through the leaf's AIA.
func (p *testPKI) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return pool
}

// leaf issues a signing certificate valid from notBefore to notAfter; its PEM holds the leaf only.
func (p *testPKI) leaf(tb testing.TB, notBefore, notAfter time.Time) (*rsa.PrivateKey, []byte) {
	tb.Helper()
	key := genKey(tb)
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		DNSNames: []string{"sns.amazonaws.com"}, NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IssuingCertificateURL: []string{p.issuerURL}}
	c := mustCert(tb, tmpl, p.inter, &key.PublicKey, p.interKey)
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func genKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func mustCert(tb testing.TB, tmpl, parent *x509.Certificate, pub *rsa.PublicKey, signer *rsa.PrivateKey) *x509.Certificate {
	tb.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
