// Temporary stand-ins until the libedit REPL lands: run statements and print plain output.
import Foundation
import TLLang

final class PlainOutput: SessionOutput {
    func write(_ text: String, toStandardError: Bool) {
        (toStandardError ? FileHandle.standardError : FileHandle.standardOutput).write(text.data(using: .utf8)!)
    }
    func display(_ display: Display) { print(display.plainText) }
    func progress(_ label: String, done: Int, total: Int) {}
}

public enum ScriptRunner {
    public static func run(file: String, session: Session) -> Int32 {
        guard let source = try? String(contentsOfFile: file, encoding: .utf8) else {
            FileHandle.standardError.write("tlsh: cannot read \(file)\n".data(using: .utf8)!); return 1
        }
        return run(source: source, origin: file, session: session)
    }
    public static func run(source: String, origin: String, session: Session) -> Int32 {
        let out = PlainOutput()
        session.output = out
        do {
            if let d = try session.execute(source) { print(d.plainText) }
            return 0
        } catch {
            FileHandle.standardError.write("\(origin): \(error.rendered)\n".data(using: .utf8)!)
            return 1
        }
    }
}

public enum ReplMain {
    public static func run(session: Session, environment: [String: String]) -> Int32 {
        let source = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        return ScriptRunner.run(source: source, origin: "<stdin>", session: session)
    }
}
