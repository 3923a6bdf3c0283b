import { allowEntryProblem, deniedReason, hostAllowedByName, parseAddress, parseAllowList, reservedRange } from "./address-policy";

describe("parseAddress", () => {
  it.each([
    ["127.0.0.1", [127, 0, 0, 1]],
    ["::1", [...Array<number>(15).fill(0), 1]],
    ["::", Array<number>(16).fill(0)],
    ["2001:db8::1", [0x20, 0x01, 0x0d, 0xb8, ...Array<number>(11).fill(0), 1]],
    ["::ffff:10.1.2.3", [...Array<number>(10).fill(0), 0xff, 0xff, 10, 1, 2, 3]],
    ["fe80::1%eth0", [0xfe, 0x80, ...Array<number>(13).fill(0), 1]],
    ["[::1]", [...Array<number>(15).fill(0), 1]],
    ["1:2:3:4:5:6:7:8", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    ["256.0.0.1", undefined],
    ["1.2.3", undefined],
    ["01.2.3.4", undefined],
    ["1::2::3", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1:2:3:4:5:6:7::8", undefined],
    ["12345::", undefined],
    ["example.org", undefined],
    ["", undefined],
  ])("parseAddress(%j)", (text, want) => {
    expect(parseAddress(text)).toEqual(want);
  });
});

describe("reservedRange (the default deny list)", () => {
  it.each([
    ["93.184.216.34", undefined],
    ["8.8.8.8", undefined],
    ["2606:4700::1111", undefined],
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["10.20.30.40", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", undefined],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared address space"],
    ["0.0.0.0", "this network"],
    ["224.0.0.251", "multicast"],
    ["255.255.255.255", "reserved"],
    ["198.18.0.1", "benchmarking"],
    ["::1", "loopback or unspecified"],
    ["::", "loopback or unspecified"],
    ["fd12:3456::1", "unique local"],
    ["fe80::abcd", "link-local"],
    ["ff02::1", "multicast"],
    ["2001:db8::5", "documentation"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:169.254.169.254", "link-local"],
    ["::ffff:93.184.216.34", undefined],
    ["64:ff9b::10.0.0.1", "private"],
    ["2002:c0a8:0101::1", "private"],
    ["2002:5db8:d822::1", undefined],
    ["nonsense", "not an IP address"],
  ])("reservedRange(%j) = %j", (address, want) => {
    expect(reservedRange(address)).toBe(want);
  });
});

describe("the allow list", () => {
  it.each([
    ["127.0.0.1", undefined],
    ["127.0.0.0/8", undefined],
    ["::1", undefined],
    ["fd00::/8", undefined],
    ["hooks.internal", undefined],
    ["*.internal.example", undefined],
    ["LOCALHOST", undefined],
    ["127.0.0.1/33", "not a valid address or CIDR"],
    ["300.1.1.1", "not a valid address or CIDR"],
    ["fd00::/129", "not a valid address or CIDR"],
    ["bad host", "expected a CIDR (10.0.0.0/8), an address or a host name"],
    ["*", "expected a CIDR (10.0.0.0/8), an address or a host name"],
  ])("allowEntryProblem(%j) = %j", (entry, want) => {
    expect(allowEntryProblem(entry)).toBe(want);
  });

  const list = parseAllowList(["127.0.0.1", "10.1.0.0/16", "fd00::/8", "hooks.internal", "*.corp.example"]);
  it.each([
    ["127.0.0.1", undefined],
    ["127.0.0.2", "127.0.0.2 is loopback (not in webhook_allow_hosts)"],
    ["::ffff:127.0.0.1", undefined],
    ["10.1.200.3", undefined],
    ["10.2.0.1", "10.2.0.1 is private (not in webhook_allow_hosts)"],
    ["fd00::5", undefined],
    ["::1", "::1 is loopback or unspecified (not in webhook_allow_hosts)"],
    ["93.184.216.34", undefined],
    ["bogus", "bogus is not an IP address"],
  ])("deniedReason(%j) = %j", (address, want) => {
    expect(deniedReason(list, address)).toBe(want);
  });

  it.each([
    ["hooks.internal", true],
    ["HOOKS.internal.", true],
    ["x.hooks.internal", false],
    ["a.corp.example", true],
    ["a.b.corp.example", true],
    ["corp.example", false],
    ["evilcorp.example", false],
  ])("hostAllowedByName(%j) = %s", (host, want) => {
    expect(hostAllowedByName(list, host)).toBe(want);
  });

  it("denies every reserved range when the list is empty", () => {
    expect(deniedReason(parseAllowList([]), "127.0.0.1")).toMatch(/loopback/);
  });
});
