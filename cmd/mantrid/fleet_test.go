package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfigEtcd(t *testing.T) {
	t.Run("defaults: no etcd", func(t *testing.T) {
		c, err := ParseConfig("x", strings.NewReader(""))
		require.NoError(t, err)
		assert.Empty(t, c.EtcdEndpoints)
		assert.Equal(t, "/mantrid/", c.EtcdPrefix)
		assert.Empty(t, c.NodeName)
	})
	t.Run("values", func(t *testing.T) {
		c, err := ParseConfig("x", strings.NewReader("etcd_endpoints = http://10.0.0.1:2379, https://etcd.internal:2379\n"+
			"etcd_prefix = /lb/\netcd_username = lb\netcd_password_file = /etc/mantrid/etcd.pw\n"+
			"etcd_ca_file = /ca.pem\netcd_cert_file = /c.pem\netcd_key_file = /k.pem\nnode_name = lb-3\n"))
		require.NoError(t, err)
		assert.Equal(t, []string{"http://10.0.0.1:2379", "https://etcd.internal:2379"}, c.EtcdEndpoints)
		assert.Equal(t, "/lb/", c.EtcdPrefix)
		assert.Equal(t, "lb", c.EtcdUsername)
		assert.Equal(t, "/etc/mantrid/etcd.pw", c.EtcdPasswordFile)
		assert.Equal(t, "/k.pem", c.EtcdKeyFile)
		assert.Equal(t, "lb-3", c.NodeName)
	})
	for _, tc := range []struct{ name, text, want string }{
		{"endpoint without a port", "etcd_endpoints = http://10.0.0.1\n", "HOST:PORT"},
		{"endpoint without a scheme", "etcd_endpoints = 10.0.0.1:2379\n", "HOST:PORT"},
		{"endpoint with a path", "etcd_endpoints = http://10.0.0.1:2379/v3\n", "HOST:PORT"},
		{"empty endpoint in the list", "etcd_endpoints = http://10.0.0.1:2379,\n", "HOST:PORT"},
		{"relative prefix", "etcd_prefix = mantrid/\n", "starts and ends with /"},
		{"prefix without its end", "etcd_prefix = /mantrid\n", "starts and ends with /"},
		{"certificate without key", "etcd_cert_file = /c.pem\n", "go together"},
		{"user without password", "etcd_username = lb\n", "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("x", strings.NewReader(tc.text))
			require.Error(t, err, tc.text)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
