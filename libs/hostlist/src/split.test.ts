import { listItems, listSeparator, splitList, type ListInput } from "./split";

describe("splitList", () => {
  const cases: { name: string; input: ListInput; want: string[] }[] = [
    { name: "colon list, trimmed", input: " 127.0.0.1 : 10.0.0.0/8 :192.0.2.1 ", want: ["127.0.0.1", "10.0.0.0/8", "192.0.2.1"] },
    { name: "doubled colon is a literal colon", input: "a::b : c", want: ["a:b", "c"] },
    { name: "IPv6 with doubled colons", input: "2001::::db8::::::::1 : ::::1", want: ["2001::db8::::1", "::1"] },
    { name: "three colons: literal then separator", input: "a:::b", want: ["a:", "b"] },
    { name: "separator change <;", input: "<; 2001:db8::/32 ; 192.0.2.0/24", want: ["2001:db8::/32", "192.0.2.0/24"] },
    { name: "<; with a doubled ;", input: "<; a;;b ; c", want: ["a;b", "c"] },
    { name: "separator change <,", input: "<, a, b ,c", want: ["a", "b", "c"] },
    { name: "leading space before <", input: "  <; ::1", want: ["::1"] },
    { name: "newline separator as in Exim's <\\n example", input: "<\n 10.0.0.0/8\n192.168.0.0/24\n", want: ["10.0.0.0/8", "192.168.0.0/24"] },
    { name: "< followed by a letter is no separator change", input: "<a:b", want: ["<a", "b"] },
    { name: "empty items dropped", input: "a : : b :", want: ["a", "b"] },
    { name: "empty string", input: "", want: [] },
    { name: "only the separator change", input: "<;", want: [] },
    { name: "array: not split again, trimmed, empties dropped", input: [" ::1 ", "a:b", "", "  "], want: ["::1", "a:b"] },
    { name: "array with <; is an item", input: ["<; a"], want: ["<; a"] },
    { name: "redis; item in a colon list", input: "127.0.0.1 : redis;SMEMBERS relay_from_ips", want: ["127.0.0.1", "redis;SMEMBERS relay_from_ips"] },
    { name: "redis: item needs a doubled colon in a colon list", input: "x : redis::SMEMBERS k", want: ["x", "redis:SMEMBERS k"] },
  ];
  it.each(cases)("$name", ({ input, want }) => {
    expect(splitList(input)).toEqual(want);
  });

  it("numbers positions among non-empty items", () => {
    expect(listItems("a : : b")).toEqual([
      { text: "a", position: 1 },
      { text: "b", position: 2 },
    ]);
  });

  it.each([
    ["a:b", ":", 0],
    ["<;a", ";", 2],
    ["  <,a", ",", 4],
    ["<\ta", "\t", 2],
    ["< a", ":", 0],
  ])("listSeparator(%j) is %j from %d", (list, separator, start) => {
    expect(listSeparator(list)).toEqual({ separator, start });
  });

  it("gives the same items whatever the separator", () => {
    const items = ["192.0.2.0/24", "10.0.0.1", "redis;SMEMBERS relay_from_ips", "*"];
    for (const sep of [":", ";", ",", "|", "\n"]) {
      const list = `${sep === ":" ? "" : `<${sep} `}${items.map((i) => i.split(sep).join(sep + sep)).join(` ${sep} `)}`;
      expect(splitList(list)).toEqual(items);
    }
  });
});
