import Foundation
import NIOCore
import Riemann

// zabbix-tee-micro [--quick] [--seconds S] [--fixtures DIR] [--only TEXT]
// Values per CPU second of one thread and heap allocations per item value, per side-pipeline
// stage and workload, with a memcpy and a JSONSerialization baseline measured in the same run.

var arguments = Array(CommandLine.arguments.dropFirst())
var seconds = 0.3
var only: String?
var fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../../../Fixtures").standardizedFileURL
while let argument = arguments.first {
    arguments.removeFirst()
    switch argument {
    case "--quick": seconds = 0.05
    case "--seconds": seconds = Double(arguments.removeFirst())!
    case "--fixtures": fixtures = URL(fileURLWithPath: arguments.removeFirst())
    case "--only": only = arguments.removeFirst()
    default:
        FileHandle.standardError.write(
            Data("usage: zabbix-tee-micro [--quick] [--seconds S] [--fixtures DIR] [--only TEXT]\n".utf8)
        )
        exit(2)
    }
}

let workloads: [Workload] = [
    Workload.churnFrame,
    Workload.agentBuffer,
    try Workload.fixture("agentd-agent-data", in: fixtures),
    try Workload.fixture("agent2-agent-data", in: fixtures),
    try Workload.fixture("sender-batch-ns", in: fixtures),
    try Workload.fixture("proxy-data", in: fixtures),
]

var results: [(Measurement, baseline: Measurement?)] = []
let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 16)
var encoded = ByteBuffer()
encoded.reserveCapacity(1 << 20)
for workload in workloads {
    let stages = Stages(workload)
    let n = stages.valueCount
    var pending: [RiemannEvent] = []
    pending.reserveCapacity(Stages.batchEvents * 2)
    let bytes = Array(workload.stream.readableBytesView)
    func run(_ stage: String, _ body: () -> Void) -> Measurement {
        if let only, !"\(workload.name) \(stage)".contains(only), !stage.hasPrefix("baseline") {
            return Measurement(stage: stage, workload: workload.name, values: 0, cpuSeconds: 0, allocations: 0)
        }
        return measure(stage, workload: workload.name, valuesPerCall: n, minimumSeconds: seconds, body)
    }
    let memcpyRun = run("baseline: memcpy of the frames") { stages.memcpyBaseline(into: scratch) }
    let jsonBaseline = run("baseline: JSONSerialization") { stages.jsonSerializationBaseline() }
    results.append((memcpyRun, nil))
    results.append((run("frame decode", stages.frameDecode), memcpyRun))
    results.append((run("inflate", stages.inflate), nil))
    results.append((jsonBaseline, nil))
    results.append((run("JSON decode", stages.jsonDecode), jsonBaseline))
    results.append((run("catalog lookup", stages.catalogLookup), nil))
    results.append((run("mapping", stages.mapping), nil))
    results.append(
        (
            measure(
                "protobuf encode",
                workload: workload.name,
                valuesPerCall: stages.batch.count,
                minimumSeconds: seconds
            ) {
                stages.protobufEncode(into: &encoded)
            }, nil
        )
    )
    results.append((run("whole chain", { stages.chain(into: &encoded, pending: &pending) }), nil))
    results.append((run("tee decode path (CaptureDecoder)", { stages.teeDecodePath(bytes) }), nil))
}

func format(_ number: Double) -> String {
    if number >= 100 {
        return String(Int(number.rounded())).reversed().enumerated().map {
            $0.offset > 0 && $0.offset % 3 == 0 ? "\($0.element)," : "\($0.element)"
        }.reversed().joined()
    }
    if number >= 10 { return String(format: "%.1f", number) }
    return String(format: "%.2f", number)
}

print("| workload | stage | values/s per core | ns/value | allocations/value | time vs baseline |")
print("|---|---|---:|---:|---:|---:|")
for (result, baseline) in results where result.values > 0 {
    let ratio =
        baseline.map {
            String(
                format: "%.2f× %@",
                result.nanosecondsPerValue / $0.nanosecondsPerValue,
                $0.stage.replacingOccurrences(of: "baseline: ", with: "")
            )
        } ?? ""
    print(
        "| \(result.workload) | \(result.stage) | \(format(result.valuesPerSecond)) | \(format(result.nanosecondsPerValue)) | \(format(result.allocationsPerValue)) | \(ratio) |"
    )
}
