// Package vnetlab builds simulated networks with pion's vnet for tests: a WAN with a STUN/TURN
// server (pion/turn) and private LANs behind NATs of any RFC 4787 kind. Nothing leaves the process.
package vnetlab

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/turn/v5"
)

// ServerIP is the STUN/TURN server's address on the simulated WAN.
const ServerIP = "1.2.3.4"

// TURN credentials accepted by the lab's server.
const (
	TURNUser = "lab"
	TURNPass = "secret"
	realm    = "p2pcopy.test"
)

// NAT kinds by RFC 4787 behaviour.
var (
	// FullCone: endpoint-independent mapping and filtering.
	FullCone = &vnet.NATType{MappingBehavior: vnet.EndpointIndependent, FilteringBehavior: vnet.EndpointIndependent}
	// AddressRestricted: endpoint-independent mapping, address-dependent filtering.
	AddressRestricted = &vnet.NATType{MappingBehavior: vnet.EndpointIndependent, FilteringBehavior: vnet.EndpointAddrDependent}
	// PortRestricted: endpoint-independent mapping, address-and-port-dependent filtering.
	PortRestricted = &vnet.NATType{MappingBehavior: vnet.EndpointIndependent, FilteringBehavior: vnet.EndpointAddrPortDependent}
	// Symmetric: address-and-port-dependent mapping and filtering.
	Symmetric = &vnet.NATType{MappingBehavior: vnet.EndpointAddrPortDependent, FilteringBehavior: vnet.EndpointAddrPortDependent}
)

// Lab is a WAN router with a STUN/TURN server on it.
type Lab struct {
	wan   *vnet.Router
	logs  logging.LoggerFactory
	peers int
	down  atomic.Bool // true: the WAN drops every packet (an outage)
}

// New starts a lab; it is stopped when the test ends.
func New(t testing.TB) *Lab {
	t.Helper()
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelError
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "1.2.3.0/24", LoggerFactory: logs})
	if err != nil {
		t.Fatalf("vnet WAN: %v", err)
	}
	serverNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ServerIP}})
	if err != nil {
		t.Fatalf("vnet server net: %v", err)
	}
	if err := wan.AddNet(serverNet); err != nil {
		t.Fatalf("vnet server net: %v", err)
	}
	udp, err := serverNet.ListenPacket("udp4", ServerIP+":3478")
	if err != nil {
		t.Fatalf("STUN/TURN listen: %v", err)
	}
	// A second port, so that a NAT's mapping can be compared across two destinations.
	udp2, err := serverNet.ListenPacket("udp4", ServerIP+":3479")
	if err != nil {
		t.Fatalf("STUN listen: %v", err)
	}
	key := turn.GenerateAuthKey(TURNUser, realm, TURNPass)
	server, err := turn.NewServer(turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, key, ra.Username == TURNUser
		},
		PacketConnConfigs: []turn.PacketConnConfig{
			{PacketConn: udp, RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{
				RelayAddress: net.ParseIP(ServerIP), Address: ServerIP, Net: serverNet,
			}},
			{PacketConn: udp2, RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{
				RelayAddress: net.ParseIP(ServerIP), Address: ServerIP, Net: serverNet,
			}},
		},
		LoggerFactory: logs,
	})
	if err != nil {
		t.Fatalf("TURN server: %v", err)
	}
	lab := &Lab{wan: wan, logs: logs}
	wan.AddChunkFilter(func(vnet.Chunk) bool { return !lab.down.Load() })
	if err := wan.Start(); err != nil {
		t.Fatalf("vnet start: %v", err)
	}
	t.Cleanup(func() {
		_ = server.Close()
		_ = wan.Stop()
	})
	return lab
}

// SetDown starts (true) or ends (false) an outage: while down, the WAN drops every packet.
func (l *Lab) SetDown(down bool) { l.down.Store(down) }

// STUNURL is the lab server as a STUN URL.
func (l *Lab) STUNURL() string { return "stun:" + ServerIP + ":3478" }

// STUNURLs are the lab server's two STUN ports.
func (l *Lab) STUNURLs() []string {
	return []string{"stun:" + ServerIP + ":3478", "stun:" + ServerIP + ":3479"}
}

// TURNURL is the lab server in p2pcopy's --turn form.
func (l *Lab) TURNURL() string {
	return fmt.Sprintf("turn:%s:%s@%s:3478", TURNUser, TURNPass, ServerIP)
}

// AddPeer makes a private LAN behind a NAT of the given kind (nil: no NAT, a public address) and
// returns the network of one host on it. Must be called before the lab's routers carry traffic.
func (l *Lab) AddPeer(t testing.TB, nat *vnet.NATType) *vnet.Net {
	t.Helper()
	l.peers++
	public := fmt.Sprintf("1.2.3.%d", 10+l.peers)
	if nat == nil {
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{public}})
		if err == nil {
			err = l.wan.AddNet(n)
		}
		if err != nil {
			t.Fatalf("vnet public host: %v", err)
		}
		return n
	}
	kind := *nat // each router needs its own copy
	lan, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR:          fmt.Sprintf("10.%d.0.0/24", l.peers),
		StaticIPs:     []string{public},
		NATType:       &kind,
		LoggerFactory: l.logs,
	})
	if err != nil {
		t.Fatalf("vnet LAN: %v", err)
	}
	n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{fmt.Sprintf("10.%d.0.2", l.peers)}})
	if err != nil {
		t.Fatalf("vnet host: %v", err)
	}
	if err := lan.AddNet(n); err != nil {
		t.Fatalf("vnet host: %v", err)
	}
	if err := l.wan.AddRouter(lan); err != nil {
		t.Fatalf("vnet LAN: %v", err)
	}
	if err := lan.Start(); err != nil {
		t.Fatalf("vnet LAN start: %v", err)
	}
	return n
}
