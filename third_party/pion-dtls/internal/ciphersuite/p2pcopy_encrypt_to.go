// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package ciphersuite

// p2pcopy patch: the AEAD cipher suites seal a record straight into the caller's buffer
// (see pkg/crypto/ciphersuite/p2pcopy_encrypt_to.go); Conn.Write uses it when the suite has it.

import (
	"fmt"

	"github.com/pion/dtls/v3/pkg/crypto/ciphersuite"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
)

// EncryptTo appends to dst the record with header h and the plaintext payload, encrypted: the
// same bytes as Encrypt.
func (c *TLSEcdheEcdsaWithAes128GcmSha256) EncryptTo(dst []byte, h recordlayer.Header, payload []byte) ([]byte, error) {
	cipherSuite, ok := c.gcm.Load().(*ciphersuite.GCM)
	if !ok {
		return nil, fmt.Errorf("%w, unable to encrypt", errCipherSuiteNotInit)
	}

	return cipherSuite.EncryptTo(dst, h, payload)
}

// EncryptTo appends to dst the record with header h and the plaintext payload, encrypted: the
// same bytes as Encrypt.
func (c *TLSEcdheEcdsaWithChacha20Poly1305Sha256) EncryptTo(
	dst []byte, h recordlayer.Header, payload []byte,
) ([]byte, error) {
	cipherSuite, ok := c.chacha.Load().(*ciphersuite.ChaCha20Poly1305)
	if !ok {
		return nil, fmt.Errorf("%w, unable to encrypt", errCipherSuiteNotInit)
	}

	return cipherSuite.EncryptTo(dst, h, payload)
}

// EncryptTo appends to dst the record with header h and the plaintext payload, encrypted: the
// same bytes as Encrypt.
func (c *AesCcm) EncryptTo(dst []byte, h recordlayer.Header, payload []byte) ([]byte, error) {
	cipherSuite, ok := c.ccm.Load().(*ciphersuite.CCM)
	if !ok {
		return nil, fmt.Errorf("%w, unable to encrypt", errCipherSuiteNotInit)
	}

	return cipherSuite.EncryptTo(dst, h, payload)
}
