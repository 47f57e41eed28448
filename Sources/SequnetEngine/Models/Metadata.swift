import Foundation
import SequnetCheckpoint

/// The safetensors metadata `convert` writes, and the checks loading makes
/// of it. Metadata is never trusted: the configuration is read off the
/// tensors, and every field the metadata states must agree with it.
public enum ModelMetadata {
    /// The family's `architecture` name.
    static let architectureKey = "sequnet.architecture"
    /// The configuration as a JSON object of integers, by reference names.
    static let configKey = "sequnet.config"
    /// The input size (priming window), for readers that do not compute it.
    static let inputSizeKey = "sequnet.input_size"
    /// Older files stored a WaveNet's layers per block here too.
    static let legacyKeys = ["wavenet.layers_per_block": "layers_per_block"]

    /// The family the tensors belong to, checked against the metadata's architecture.
    static func family(of dict: StateDict) throws -> any ModelConfiguration.Type {
        let byTensors = ModelRegistry.family(recognising: Set(dict.names))
        guard let declared = dict.metadata[architectureKey] else {
            guard let byTensors else {
                let markers = ModelRegistry.families.map { "'\($0.markerTensor)' (\($0.familyName))" }
                throw ModelLoadError.unknownArchitecture("no \(markers.joined(separator: " or ")) tensor")
            }
            return byTensors
        }
        guard let named = ModelRegistry.family(named: declared) else {
            throw ModelLoadError.unknownArchitecture("metadata names architecture '\(declared)'")
        }
        if let byTensors, ObjectIdentifier(byTensors) != ObjectIdentifier(named) {
            throw ModelLoadError.metadataContradicts(field: architectureKey, metadata: "'\(declared)'",
                                                     tensors: "'\(byTensors.architecture)'")
        }
        return named
    }

    /// The integer fields the metadata states, by reference names (older
    /// files' camelCase keys and legacy keys included).
    static func statedValues(in metadata: [String: String]) throws -> [String: Int] {
        var stated: [String: Int] = [:]
        if let json = metadata[configKey] {
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
                throw ModelLoadError.invalidMetadata("'\(configKey)' is not a JSON object")
            }
            for (key, value) in object {
                guard let number = value as? NSNumber, let int = Int(exactly: number.doubleValue) else {
                    throw ModelLoadError.invalidMetadata("'\(configKey)' field '\(key)' is not an integer")
                }
                stated[snakeCase(key)] = int
            }
        }
        for (legacy, key) in legacyKeys {
            guard let text = metadata[legacy] else { continue }
            guard let int = Int(text) else { throw ModelLoadError.invalidMetadata("'\(legacy)' is not an integer") }
            if let other = stated[key], other != int {
                throw ModelLoadError.invalidMetadata("'\(legacy)' is \(int) but '\(configKey)' says \(key) \(other)")
            }
            stated[key] = int
        }
        return stated
    }

    /// Checks every stated field against the configuration read off the tensors.
    static func check(_ config: any ModelConfiguration, stated: [String: Int], metadata: [String: String]) throws {
        let actual = config.hyperparameterValues
        for key in stated.keys.sorted() {
            guard let value = actual[key] else {
                throw ModelLoadError.invalidMetadata(
                    "'\(configKey)' names '\(key)', which a \(type(of: config).familyName) does not have")
            }
            if value != stated[key] {
                throw ModelLoadError.metadataContradicts(field: key, metadata: String(stated[key]!), tensors: String(value))
            }
        }
        if let text = metadata[inputSizeKey], text != String(config.inputSize) {
            throw ModelLoadError.metadataContradicts(field: inputSizeKey, metadata: text, tensors: String(config.inputSize))
        }
    }

    /// Seconds per step of a piano-roll model's data set (`convert --step-duration`).
    public static let stepDurationKey = "sequnet.step_duration"

    /// The precision `convert --precision` stored the matrices in, and the
    /// one a load uses unless told otherwise.
    static let precisionKey = "sequnet.precision"

    /// The metadata `convert` writes for `config`.
    static func entries(for config: any ModelConfiguration) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = (try? encoder.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var entries = [architectureKey: type(of: config).architecture, configKey: json,
                       inputSizeKey: String(config.inputSize), "format": "pt"]
        // Readers of older sequnet files look for a WaveNet's layout here.
        for (legacy, key) in legacyKeys {
            if let value = config.hyperparameterValues[key] { entries[legacy] = String(value) }
        }
        return entries
    }

    /// `layersPerBlock` -> `layers_per_block`; snake_case stays as it is.
    static func snakeCase(_ key: String) -> String {
        var out = ""
        for ch in key {
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }
}
