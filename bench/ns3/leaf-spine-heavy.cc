/*
 * examples/leaf-spine-heavy.yaml in ns-3 (3.37, Debian's libns3-dev), for the side-by-side rate
 * comparison of bench/ns3.ts (docs/BENCHMARKS.md, "ns-3 on the same scenario").
 *
 *   leaf-spine-heavy [--duration 200ms] [--pcap DIR]
 *
 * Prints one JSON line: packet-hops, packets generated/delivered, set-up ms (process start to
 * Simulator::Run), wall ms of Simulator::Run, packet-hops per second of wall time, events, peak RSS.
 *
 * What is the same as ioamsim's run of the file: the 11 nodes and 12 point-to-point full-duplex
 * links (2 us, 100 Gb/s fabric, 10 Gb/s host links, a tail-drop FIFO of 200000 bytes per
 * direction), the routes (below), the flows (rates, patterns, IPv6 packet sizes), the
 * request/response exchange, and a capture of every interface of s1 in both directions (--pcap).
 *
 * What differs (ns-3 has no IOAM; the comparison is the cost of forwarding packets):
 * - no IOAM: ioamsim's leaves add a 60-byte trace (+ option headers) toward the fabric, fill it at
 *   each hop and remove it; here the packets keep their size;
 * - L2 overhead: ioamsim serializes len + 14 bytes; ns-3's point-to-point device adds a 2-byte PPP
 *   header, so the 12 missing bytes are the device's inter-frame gap (the next transmission starts
 *   when ioamsim's would; the far end receives 12 byte-times earlier). The queue limit counts
 *   len + 2 bytes here, len + 14 in ioamsim;
 * - ns-3 has no dataplane tick: a node processes a packet when it arrives (ioamsim's file steps
 *   the nodes every 20 us);
 * - randomness: ns-3's own generators (MRG32k3a), so Poisson gaps and drawn sizes are other draws of
 *   the same distributions;
 * - the exchange: ioamsim sends TCP-like segments (20-byte TCP header, no congestion control); here
 *   UDP datagrams of the same IPv6 size (120-byte requests, 1200-byte responses), the server
 *   answering each request at once;
 * - addresses: the hosts keep their ioamsim addresses (/128), each link has its own /64;
 * - payloads are ns-3's virtual zero bytes (not built byte by byte as in ioamsim).
 *
 * Packet-hops as ioamsim counts them (sim/stepper.ts: `net.packetHops` grows by the packets of
 * every node's dataplane step): one packet processed at one node, the source host (where it is
 * originated), every router, and the destination host. Counted here with the Ipv6L3Protocol trace
 * sources SendOutgoing (originated), UnicastForward (forwarded) and LocalDeliver (delivered), for
 * UDP packets only (ns-3's own ICMPv6, if any, is not traffic of the scenario).
 */
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/queue-disc.h"
#include "ns3/traffic-control-layer.h"
#include "ns3/version-defines.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using namespace ns3;

namespace
{

// ---- the topology of examples/leaf-spine-heavy.yaml ----
enum NodeId
{
    S1, S2, L1, L2, L3, H11, H12, H21, H22, H31, H32, N_NODES
};

const char* const kName[N_NODES] = {"s1", "s2", "l1", "l2", "l3", "h11", "h12", "h21", "h22", "h31", "h32"};
const char* const kAddr[N_NODES] = {"fd00:ff::1", "fd00:ff::2", "fd00:1::1", "fd00:2::1", "fd00:3::1",
                                    "fd00:1::11", "fd00:1::12", "fd00:2::21", "fd00:2::22", "fd00:3::31", "fd00:3::32"};

bool
IsHost(int n)
{
    return n >= H11;
}

/// A host's leaf.
int
LeafOf(int h)
{
    return h <= H12 ? L1 : h <= H22 ? L2 : L3;
}

struct LinkSpec
{
    int a;
    int b;
    uint64_t bps;
};

// In the file's order (defaults: 2us, 100Gbps, queue 200000 bytes; host links 10Gbps).
const LinkSpec kLinks[] = {
    {L1, S1, 100000000000ULL}, {L1, S2, 100000000000ULL}, {L2, S1, 100000000000ULL},
    {L2, S2, 100000000000ULL}, {L3, S1, 100000000000ULL}, {L3, S2, 100000000000ULL},
    {H11, L1, 10000000000ULL}, {H12, L1, 10000000000ULL}, {H21, L2, 10000000000ULL},
    {H22, L2, 10000000000ULL}, {H31, L3, 10000000000ULL}, {H32, L3, 10000000000ULL},
};
const uint64_t kDelayNs = 2000;
const uint32_t kQueueBytes = 200000;
const uint32_t kL2Overhead = 14; // ioamsim's l2_overhead
const uint32_t kPppHeader = 2;   // what ns-3's point-to-point device adds
const uint32_t kIpUdp = 48;      // IPv6 + UDP headers: payload = IPv6 size - 48

/**
 * The next node from `n` toward host `h`: the routes ioamsim computes for the file (metric hops,
 * ties to the lowest interface index, i.e. the first link listed: l*-s1; static routes l2 -> h31
 * and l3 -> h21 via s2). ioamsim's IOAM path table for the file agrees: a l1>s1>l3, b l2>s2>l3,
 * c l3>s1>l1, kv l2>s1>l1, its responses l1>s1>l2.
 */
int
NextHop(int n, int h)
{
    if (IsHost(n))
        return LeafOf(n);
    if (n == S1 || n == S2)
        return LeafOf(h);
    if (LeafOf(h) == n)
        return h;
    if ((n == L2 && h == H31) || (n == L3 && h == H21))
        return S2;
    return S1;
}

// ---- counters ----
uint64_t g_hops = 0;
uint64_t g_generated = 0;
uint64_t g_delivered = 0;

void
OnHop(const Ipv6Header& ip, Ptr<const Packet>, uint32_t)
{
    if (ip.GetNextHeader() == UdpL4Protocol::PROT_NUMBER)
        ++g_hops;
}

void
OnDeliver(const Ipv6Header& ip, Ptr<const Packet>, uint32_t)
{
    if (ip.GetNextHeader() == UdpL4Protocol::PROT_NUMBER)
    {
        ++g_hops;
        ++g_delivered;
    }
}

// ---- traffic (sim/traffic.ts) ----
enum class Pattern
{
    Constant,
    Poisson,
    OnOff
};

/** One source: a flow, or the client side of an exchange. Sends IPv6 packets of size() bytes. */
struct Source
{
    Ptr<Socket> socket;
    Pattern pattern;
    double ratePps;
    int64_t onNs;
    int64_t offNs;
    int64_t stopNs;
    std::function<uint32_t()> size;
    Ptr<ExponentialRandomVariable> gap;
};

/** ioamsim's nextGap: the time to the next packet (ns), the first one being sent at 0. */
int64_t
NextGap(const Source& s, int64_t t)
{
    double mean = 1e9 / s.ratePps;
    if (s.pattern == Pattern::Poisson)
        return std::max<int64_t>(1, std::llround(s.gap->GetValue()));
    int64_t g = std::max<int64_t>(1, std::llround(mean));
    if (s.pattern == Pattern::OnOff)
    {
        int64_t next = t + g;
        int64_t phase = next % (s.onNs + s.offNs);
        return phase < s.onNs ? g : g + (s.onNs + s.offNs - phase);
    }
    return g;
}

void
Tick(Source* s)
{
    int64_t now = Simulator::Now().GetNanoSeconds();
    if (now >= s->stopNs)
        return;
    s->socket->Send(Create<Packet>(s->size() - kIpUdp));
    ++g_generated;
    Simulator::Schedule(NanoSeconds(NextGap(*s, now)), &Tick, s);
}

void
Drain(Ptr<Socket> socket)
{
    while (socket->Recv())
    {
    }
}

const uint32_t kResponseSize = 1200;

/** The server of the exchange: answers each request with a response of kResponseSize bytes. */
void
Answer(Ptr<Socket> socket)
{
    Address from;
    while (socket->RecvFrom(from))
    {
        socket->SendTo(Create<Packet>(kResponseSize - kIpUdp), 0, from);
        ++g_generated;
    }
}

// ---- command line ----
bool
ParseDuration(const std::string& s, int64_t& ns)
{
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || !(v >= 0))
        return false;
    std::string unit(end);
    double mul = unit == "" || unit == "ns" ? 1 : unit == "us" ? 1e3 : unit == "ms" ? 1e6 : unit == "s" ? 1e9 : -1;
    if (mul < 0)
        return false;
    ns = std::llround(v * mul);
    return ns > 0;
}

/** Peak RSS in KiB: VmHWM (getrusage's ru_maxrss survives execve: a child of a big process would
 * report the parent's peak), else getrusage. */
long
PeakRssKiB()
{
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::atol(line.c_str() + 6);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int
Usage(const char* msg, FILE* out = stderr)
{
    std::fprintf(out,
                 "%s%sUsage: leaf-spine-heavy [--duration D] [--pcap DIR]\n"
                 "  examples/leaf-spine-heavy.yaml in ns-3 (see bench/ns3.ts); prints one JSON line.\n"
                 "  --duration D  simulated time: 200ms (default), 2ms, 500us, 1s or ns\n"
                 "  --pcap DIR    capture every interface of s1 (both directions) into DIR/s1-*.pcap\n"
                 "Example: leaf-spine-heavy --duration 20ms --pcap /tmp/caps\n",
                 msg, *msg ? "\n" : "");
    return 2;
}

} // namespace

int
main(int argc, char** argv)
{
    auto t0 = std::chrono::steady_clock::now();
    int64_t durationNs = 200000000;
    std::string pcapDir;
    for (int i = 1; i < argc; i++)
    {
        std::string a = argv[i];
        std::string v;
        auto eq = a.find('=');
        if (eq != std::string::npos)
        {
            v = a.substr(eq + 1);
            a = a.substr(0, eq);
        }
        else if ((a == "--duration" || a == "--pcap") && i + 1 < argc)
            v = argv[++i];
        if (a == "--help" || a == "-h")
            return Usage("", stdout), 0;
        if (a == "--duration")
        {
            if (!ParseDuration(v, durationNs))
                return Usage(("--duration: expected a duration like 200ms, got \"" + v + "\"").c_str());
        }
        else if (a == "--pcap" && !v.empty())
            pcapDir = v;
        else
            return Usage(("unknown or incomplete argument " + std::string(argv[i])).c_str());
    }

    // Picoseconds: the 12-byte gap is 0.96 ns at 100 Gb/s.
    Time::SetResolution(Time::PS);
    Config::SetDefault("ns3::Icmpv6L4Protocol::DAD", BooleanValue(false));
    RngSeedManager::SetSeed(42);

    NodeContainer nodes;
    nodes.Create(N_NODES);
    InternetStackHelper stack;
    stack.SetIpv4StackInstall(false);
    stack.Install(nodes);

    // Links: devices, interfaces, a /64 per link (fd10:K::1 side a, fd10:K::2 side b).
    int ifTo[N_NODES][N_NODES];
    Ipv6Address addrOn[N_NODES][N_NODES];
    NetDeviceContainer s1Devices;
    for (size_t k = 0; k < sizeof kLinks / sizeof kLinks[0]; k++)
    {
        const LinkSpec& l = kLinks[k];
        PointToPointHelper p2p;
        p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate(l.bps)));
        p2p.SetDeviceAttribute("InterframeGap", TimeValue(PicoSeconds((kL2Overhead - kPppHeader) * 8 * 1000000000000ULL / l.bps)));
        p2p.SetChannelAttribute("Delay", TimeValue(NanoSeconds(kDelayNs)));
        p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", QueueSizeValue(QueueSize(QueueSizeUnit::BYTES, kQueueBytes)));
        NetDeviceContainer d = p2p.Install(nodes.Get(l.a), nodes.Get(l.b));
        for (int side = 0; side < 2; side++)
        {
            int n = side ? l.b : l.a;
            int peer = side ? l.a : l.b;
            Ptr<Ipv6> ipv6 = nodes.Get(n)->GetObject<Ipv6>();
            int i = ipv6->AddInterface(d.Get(side));
            char a[40];
            std::snprintf(a, sizeof a, "fd10:%zx::%d", k + 1, side + 1);
            addrOn[n][peer] = Ipv6Address(a);
            ifTo[n][peer] = i;
            ipv6->AddAddress(i, Ipv6InterfaceAddress(addrOn[n][peer], Ipv6Prefix(64)));
            if (IsHost(n))
                ipv6->AddAddress(i, Ipv6InterfaceAddress(Ipv6Address(kAddr[n]), Ipv6Prefix(128)));
            ipv6->SetUp(i);
            if (!IsHost(n))
                ipv6->SetForwarding(i, true);
            if (n == S1)
                s1Devices.Add(d.Get(side));
            // The device's tail-drop queue is the only one: no queue disc in front of it (the
            // address helpers would install pfifo_fast; addresses are added by hand).
            NS_ABORT_MSG_IF(nodes.Get(n)->GetObject<TrafficControlLayer>()->GetRootQueueDiscOnDevice(d.Get(side)),
                            "a queue disc on " << kName[n]);
        }
    }

    // Routes: a host route per host at every node, toward NextHop.
    Ipv6StaticRoutingHelper routing;
    for (int n = 0; n < N_NODES; n++)
    {
        Ptr<Ipv6> ipv6 = nodes.Get(n)->GetObject<Ipv6>();
        Ptr<Ipv6StaticRouting> rt = routing.GetStaticRouting(ipv6);
        for (int h = H11; h < N_NODES; h++)
        {
            if (h == n)
                continue;
            int via = NextHop(n, h);
            rt->AddHostRouteTo(Ipv6Address(kAddr[h]), addrOn[via][n], ifTo[n][via]);
        }
        Ptr<Ipv6L3Protocol> l3 = nodes.Get(n)->GetObject<Ipv6L3Protocol>();
        l3->TraceConnectWithoutContext("SendOutgoing", MakeCallback(&OnHop));
        l3->TraceConnectWithoutContext("UnicastForward", MakeCallback(&OnHop));
        l3->TraceConnectWithoutContext("LocalDeliver", MakeCallback(&OnDeliver));
    }

    // Traffic.
    TypeId udp = UdpSocketFactory::GetTypeId();
    auto socketAt = [&](int n, uint16_t port) {
        Ptr<Socket> s = Socket::CreateSocket(nodes.Get(n), udp);
        s->Bind(Inet6SocketAddress(Ipv6Address(kAddr[n]), port));
        return s;
    };
    auto sinkAt = [&](int n, uint16_t port, void (*onRecv)(Ptr<Socket>)) {
        Ptr<Socket> s = socketAt(n, port);
        s->SetRecvCallback(MakeCallback(onRecv));
    };
    sinkAt(H31, 5000, &Drain);
    sinkAt(H12, 5000, &Drain);
    sinkAt(H11, 8080, &Answer);

    int64_t stream = 0;
    auto source = [&](int from, int to, uint16_t sport, uint16_t dport, Pattern p, double pps, std::function<uint32_t()> size) {
        Source* s = new Source{socketAt(from, sport), p, pps, 0, 0, durationNs, std::move(size), CreateObject<ExponentialRandomVariable>()};
        s->socket->Connect(Inet6SocketAddress(Ipv6Address(kAddr[to]), dport));
        s->gap->SetAttribute("Mean", DoubleValue(1e9 / pps));
        s->gap->SetStream(stream++);
        return s;
    };
    auto uniform = [&](uint32_t lo, uint32_t hi) {
        Ptr<UniformRandomVariable> u = CreateObject<UniformRandomVariable>();
        u->SetStream(stream++);
        return [u, lo, hi]() { return u->GetInteger(lo, hi); };
    };
    // a: h11 -> h31, 500 kpps constant, uniform [100, 1400]
    std::vector<Source*> sources;
    sources.push_back(source(H11, H31, 40000, 5000, Pattern::Constant, 500000, uniform(100, 1400)));
    // b: h21 -> h31, 500 kpps Poisson, 800
    sources.push_back(source(H21, H31, 40001, 5000, Pattern::Poisson, 500000, [] { return 800u; }));
    // c: h32 -> h12, 300 kpps on 200us / off 300us, choice [64, 576, 1500]
    {
        auto pick = uniform(0, 2);
        Source* c = source(H32, H12, 40002, 5000, Pattern::OnOff, 300000, [pick] {
            static const uint32_t sizes[] = {64, 576, 1500};
            return sizes[pick()];
        });
        c->onNs = 200000;
        c->offNs = 300000;
        sources.push_back(c);
    }
    // kv: h22 -> h11 requests, 200 kpps Poisson, 120 bytes; the server answers 1200 bytes.
    {
        Source* kv = source(H22, H11, 41000, 8080, Pattern::Poisson, 200000, [] { return 120u; });
        kv->socket->SetRecvCallback(MakeCallback(&Drain));
        sources.push_back(kv);
    }
    for (Source* s : sources)
        Simulator::Schedule(Seconds(0), &Tick, s);

    if (!pcapDir.empty())
    {
        PointToPointHelper p2p;
        p2p.EnablePcap(pcapDir + "/s1", s1Devices);
    }

    Simulator::Stop(NanoSeconds(durationNs));
    auto t1 = std::chrono::steady_clock::now();
    Simulator::Run();
    auto t2 = std::chrono::steady_clock::now();
    uint64_t events = Simulator::GetEventCount();
    Simulator::Destroy();
    for (Source* s : sources)
        delete s;

    double setupMs = std::chrono::duration<double, std::milli>(t1 - t0).count();
    double wallMs = std::chrono::duration<double, std::milli>(t2 - t1).count();
    std::printf("{\"simulator\":\"ns-3\",\"version\":\"%d.%d\",\"durationNs\":%lld,\"packetHops\":%llu,\"generated\":%llu,"
                "\"delivered\":%llu,\"events\":%llu,\"setupMs\":%.0f,\"wallMs\":%.0f,\"packetHopsPerSec\":%.0f,\"maxRssKiB\":%ld}\n",
                NS3_VERSION_MAJOR, NS3_VERSION_MINOR, (long long)durationNs, (unsigned long long)g_hops,
                (unsigned long long)g_generated, (unsigned long long)g_delivered, (unsigned long long)events, setupMs, wallMs,
                g_hops / std::max(wallMs / 1000, 1e-9), PeakRssKiB());
    return 0;
}
