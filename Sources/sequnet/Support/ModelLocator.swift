import Foundation
import SequnetCheckpoint
import SequnetEngine

/// Finds the default model when `-m` is omitted.
enum ModelLocator {
    /// The default model, relative to the repository root.
    static let defaultRelativePath = "models/sequnet-piano.safetensors"

    /// `$SEQUNET_MODEL`, then `models/` of the repository the executable was
    /// built in (the executable lives in `.build/<triple>/<config>/`, also
    /// reached as `.build/<config>/`), then `./models/`.
    static func defaultModelPath() throws -> String {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["SEQUNET_MODEL"], !env.isEmpty {
            guard fm.fileExists(atPath: env) else { throw CLIError.environmentModelMissing(env) }
            return env
        }
        var candidates: [String] = []
        if let exe = executablePath() {
            // Up to four levels: <repo>/.build/<triple>/<config>/sequnet.
            var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
            for _ in 0..<4 {
                dir = dir.deletingLastPathComponent()
                candidates.append(dir.appendingPathComponent(defaultRelativePath).path)
            }
        }
        candidates.append(fm.currentDirectoryPath + "/" + defaultRelativePath)
        if let found = candidates.first(where: { fm.fileExists(atPath: $0) }) { return found }
        throw CLIError.noDefaultModel
    }

    /// The running executable with symlinks resolved (`/proc/self/exe`), or
    /// argv[0] made absolute where `/proc` is unavailable.
    private static func executablePath() -> String? {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return resolved
        }
        let arg0 = CommandLine.arguments.first ?? ""
        guard arg0.contains("/") else { return nil }
        return URL(fileURLWithPath: arg0).standardizedFileURL.resolvingSymlinksInPath().path
    }
}

/// A model together with where it came from and how long it took to load,
/// for messages and `info`.
struct LoadedModel {
    let model: Model
    let path: String
    let loadSeconds: Double

    /// Reads the checkpoint (format by content) and builds the model strictly
    /// (`Model(contentsOf:)`): every tensor must be used and have the expected
    /// shape, and the metadata must agree with the tensors.
    init(path: String, hyperparameters: [String: Int], precision: MatrixPrecision? = nil) throws {
        let start = now()
        model = try Model(contentsOf: path, hyperparameters: hyperparameters, precision: precision)
        self.path = path
        loadSeconds = now() - start
    }

    /// The format the checkpoint was read as.
    var format: CheckpointFormat { model.sourceFormat ?? .safetensors }

    /// "Seq-U-Net C=16 L=4 D=1 K=5" / "WaveNet 4x2 R=16 Dc=16 S=32".
    var summary: String { model.config.description }

    /// Refuses a model whose stream would exceed the standard budget (or,
    /// with `allowLarge`, what this machine holds), naming the way past it.
    func checkBudget(allowLarge: Bool) throws { try checkStreamBudget(model, allowLarge: allowLarge, naming: path) }
}

/// Refuses `model` if a stream of it would exceed the standard budget (or,
/// with `allowLarge`, what this machine holds); the error starts with `what`
/// (the file, or the --arch spec) and says how to go past the limits.
func checkStreamBudget(_ model: Model, allowLarge: Bool, naming what: String) throws {
    do {
        try model.check(allowLarge ? .machine : .standard)
    } catch let error as ModelLoadError {
        throw CLIError.invalidInput("\(what): \(error)" + (allowLarge ? "" : "; --allow-large-model lifts the limits"))
    }
}
