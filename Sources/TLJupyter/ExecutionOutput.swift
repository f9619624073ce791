/// The `KernelOutput` handed to the backend for one execute_request: publishes on iopub with the request
/// as parent, drops everything when the request is silent, and collects pager payloads for the reply.
final class ExecutionOutput: KernelOutput {
    private let iopub: IOPubChannel
    private let parent: JSONValue
    private let silent: Bool
    private(set) var payloads: [JSONValue] = []

    init(iopub: IOPubChannel, parent: JSONValue, silent: Bool) {
        self.iopub = iopub; self.parent = parent; self.silent = silent
    }

    func stream(_ name: StreamName, _ text: String) {
        guard !silent else { return }
        iopub.stream(name, text, parent: parent)
    }

    func display(_ bundle: MimeBundle, displayID: String?) {
        guard !silent else { return }
        var content: [String: JSONValue] = ["data": bundle.dataJSON, "metadata": bundle.metadataJSON, "transient": [:]]
        if let displayID { content["transient"] = ["display_id": .string(displayID)] }
        iopub.publish(type: "display_data", content: .object(content), parent: parent)
    }

    func updateDisplay(_ bundle: MimeBundle, displayID: String) {
        guard !silent else { return }
        iopub.publish(type: "update_display_data",
                      content: ["data": bundle.dataJSON, "metadata": bundle.metadataJSON,
                                "transient": ["display_id": .string(displayID)]],
                      parent: parent)
    }

    func clearOutput(wait: Bool) {
        guard !silent else { return }
        iopub.publish(type: "clear_output", content: ["wait": .bool(wait)], parent: parent)
    }

    func page(_ bundle: MimeBundle) {
        guard !silent else { return }
        payloads.append(["source": "page", "data": bundle.dataJSON, "start": 0])
    }
}
