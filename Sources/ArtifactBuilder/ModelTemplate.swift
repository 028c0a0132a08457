import Foundation

/// `slipway model init`: a working model repository with a real small model (numpy only):
/// weekly demand as a linear function of price, promotion and season, fitted by least
/// squares. Its scripts follow SageMaker's script-mode conventions, so they run unchanged
/// there, and each runs in well under a second.
package enum ModelTemplate {
    /// Writes the repository's files into `folder` (created when missing; it must not
    /// already hold a `slipway.yaml`). Returns the paths written, relative to `folder`.
    @discardableResult
    package static func write(to folder: String, name: String) throws -> [String] {
        guard ModelConfig.isValidName(name) else {
            throw BuildFailure("invalid model name '\(name)'", hint: "use 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter")
        }
        let manager = FileManager.default
        guard !manager.fileExists(atPath: folder + "/" + ModelConfig.fileName) else {
            throw BuildFailure("'\(folder)' already holds a \(ModelConfig.fileName)", hint: "choose an empty folder")
        }
        let files: [(String, String)] = [
            (ModelConfig.fileName, config(name: name)),
            ("requirements.txt", "numpy\n"),
            ("README.md", readme(name: name)),
            ("preprocess.py", preprocess),
            ("train.py", train),
            ("evaluate.py", evaluate),
            ("serve.py", serve),
            ("model_lib.py", library),
            ("tests/test_model.py", tests),
            ("data/sales.csv", dataset(rows: 520, seed: 7)),
        ]
        for (path, text) in files {
            let full = folder + "/" + path
            try manager.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        }
        return files.map(\.0)
    }

    static func config(name: String) -> String {
        """
        # A Slipway model repository (slipway.yaml schema version 1); see Slipway's README.
        version: 1
        name: \(name)
        description: Weekly units sold as a function of price, promotion and season.
        requirements: requirements.txt
        data:
          sales: {path: data/sales.csv}
        stages:
          preprocess:
            script: preprocess.py
            include: [model_lib.py]
            inputs: [sales]
            outputs: [train, test]
            arguments: ["--test-fraction", "0.25"]
            resources: {cpus: 1, memory: 512MiB, timeout: 5m}
          train:
            script: train.py
            include: [model_lib.py]
            hyperparameters: {ridge: 0.01}
            resources: {cpus: 1, memory: 512MiB, timeout: 10m}
            retry: {attempts: 1, interval: 5s}
          evaluate:
            script: evaluate.py
            include: [model_lib.py]
            resources: {cpus: 1, memory: 512MiB, timeout: 5m}
          serve:
            script: serve.py
            include: [model_lib.py]
        gates:
          - {metric: regression_metrics.mse.value, max: 25}
          - {metric: regression_metrics.r2.value, min: 0.8}
        approval: manual
        deploy: {endpoint: \(name), workers: 1, strategy: all-at-once}
        build:
          steps:
            - {name: unit tests, stage: train, run: python -m unittest discover -s tests}

        """
    }

    static func readme(name: String) -> String {
        """
        # \(name)

        A Slipway model repository. `slipway.yaml` declares the model; each stage is a
        SageMaker script-mode script:

        - `preprocess.py` (processing job): reads `/opt/ml/processing/input/sales/sales.csv`,
          writes `/opt/ml/processing/train/train.csv` and `/opt/ml/processing/test/test.csv`.
        - `train.py` (training job): reads `SM_CHANNEL_TRAIN`, writes the model to `SM_MODEL_DIR`.
        - `evaluate.py` (processing job): reads the model and the test set, writes
          `/opt/ml/processing/evaluation/evaluation.json`.
        - `serve.py`: `model_fn`, `input_fn`, `predict_fn`, `output_fn` for the endpoint.

        Run the unit tests with `python -m unittest discover -s tests`. Push to build:

            git init -b main && git add . && git commit -m "first model"
            git remote add slipway /path/to/\(name).git && git push slipway main

        """
    }

    /// A deterministic dataset: week, price, promo, units = 120 - 6 price + 15 promo
    /// + 10 sin(2π week / 52) + noise(σ = 3).
    static func dataset(rows: Int, seed: UInt64) -> String {
        var state = seed
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        var lines = ["week,price,promo,units"]
        for row in 0..<rows {
            let week = row % 52
            let price = 5 + 10 * uniform()
            let promo = uniform() < 0.3 ? 1 : 0
            let noise = sqrt(-2 * log(max(uniform(), 1e-12))) * cos(2 * Double.pi * uniform()) * 3
            let units = 120 - 6 * price + 15 * Double(promo) + 10 * sin(2 * Double.pi * Double(week) / 52) + noise
            lines.append(String(format: "%d,%.2f,%d,%.2f", week, price, promo, units))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let library = #"""
        """Shared code of the stages: features and the least-squares model."""
        import csv
        import json
        import math

        import numpy as np

        COLUMNS = ["week", "price", "promo", "units"]


        def read_rows(path):
            with open(path, newline="") as f:
                return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


        def write_rows(path, rows):
            with open(path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(rows)


        def features(rows):
            return np.array([[1.0, r["price"], r["promo"],
                              math.sin(2 * math.pi * r["week"] / 52), math.cos(2 * math.pi * r["week"] / 52)]
                             for r in rows])


        def fit(rows, ridge=0.0):
            x, y = features(rows), np.array([r["units"] for r in rows])
            penalty = ridge * np.eye(x.shape[1])
            penalty[0, 0] = 0.0
            return np.linalg.solve(x.T @ x + penalty, x.T @ y)


        def predict(coefficients, rows):
            return features(rows) @ np.asarray(coefficients)


        def save(coefficients, path):
            with open(path, "w") as f:
                json.dump({"coefficients": list(map(float, coefficients))}, f)


        def load(path):
            with open(path) as f:
                return np.array(json.load(f)["coefficients"])
        """#

    static let preprocess = #"""
        """Processing job: split the raw sales into train and test sets."""
        import argparse
        import os
        import random

        from model_lib import read_rows, write_rows

        if __name__ == "__main__":
            parser = argparse.ArgumentParser()
            parser.add_argument("--test-fraction", type=float, default=0.25)
            parser.add_argument("--input", default="/opt/ml/processing/input/sales")
            parser.add_argument("--output", default="/opt/ml/processing")
            args = parser.parse_args()

            name = next(n for n in sorted(os.listdir(args.input)) if n.endswith(".csv"))
            rows = read_rows(os.path.join(args.input, name))
            random.Random(42).shuffle(rows)
            cut = int(len(rows) * (1 - args.test_fraction))
            for split, part in (("train", rows[:cut]), ("test", rows[cut:])):
                os.makedirs(os.path.join(args.output, split), exist_ok=True)
                write_rows(os.path.join(args.output, split, split + ".csv"), part)
            print(f"train rows: {cut}, test rows: {len(rows) - cut}")
        """#

    static let train = #"""
        """Training job (SageMaker script mode): fit the demand model."""
        import argparse
        import os

        from model_lib import fit, read_rows, save

        if __name__ == "__main__":
            parser = argparse.ArgumentParser()
            parser.add_argument("--ridge", type=float, default=0.0)
            parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
            parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
            args, _ = parser.parse_known_args()

            rows = read_rows(os.path.join(args.train, "train.csv"))
            coefficients = fit(rows, ridge=args.ridge)
            os.makedirs(args.model_dir, exist_ok=True)
            save(coefficients, os.path.join(args.model_dir, "model.json"))
            print("coefficients:", [round(float(c), 3) for c in coefficients])
        """#

    static let evaluate = #"""
        """Processing job: score the model on the test set (SageMaker ModelMetrics shape)."""
        import argparse
        import json
        import os
        import tarfile
        import tempfile

        import numpy as np

        from model_lib import load, predict, read_rows

        if __name__ == "__main__":
            parser = argparse.ArgumentParser()
            parser.add_argument("--model", default="/opt/ml/processing/model/model.tar.gz")
            parser.add_argument("--test", default="/opt/ml/processing/test")
            parser.add_argument("--output", default="/opt/ml/processing/evaluation")
            args = parser.parse_args()

            with tempfile.TemporaryDirectory() as folder:
                with tarfile.open(args.model) as archive:
                    archive.extractall(folder)
                coefficients = load(os.path.join(folder, "model.json"))
            rows = read_rows(os.path.join(args.test, "test.csv"))
            truth = np.array([r["units"] for r in rows])
            errors = predict(coefficients, rows) - truth
            mse = float(np.mean(errors ** 2))
            r2 = 1.0 - mse / float(np.var(truth))
            os.makedirs(args.output, exist_ok=True)
            report = {"regression_metrics": {"mse": {"value": mse}, "r2": {"value": r2}}}
            with open(os.path.join(args.output, "evaluation.json"), "w") as f:
                json.dump(report, f)
            print(json.dumps(report))
        """#

    static let serve = #"""
        """Inference handlers (SageMaker inference toolkit conventions)."""
        import json
        import os

        from model_lib import load, predict


        def model_fn(model_dir):
            return load(os.path.join(model_dir, "model.json"))


        def input_fn(body, content_type):
            if content_type.split(";")[0].strip() != "application/json":
                raise ValueError(f"unsupported content type {content_type}; send application/json")
            data = json.loads(body)
            return data if isinstance(data, list) else [data]


        def predict_fn(rows, model):
            return [float(v) for v in predict(model, rows)]


        def output_fn(prediction, accept):
            return json.dumps({"units": prediction})
        """#

    static let tests = #"""
        import os
        import sys
        import unittest

        sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

        from model_lib import fit, predict  # noqa: E402


        class ModelTest(unittest.TestCase):
            def test_fit_recovers_a_known_price_effect(self):
                rows = [{"week": w % 52, "price": 5 + (w * 7) % 10, "promo": w % 3 == 0, "units": 0.0} for w in range(200)]
                for r in rows:
                    r["promo"] = float(r["promo"])
                    r["units"] = 100 - 4 * r["price"] + 10 * r["promo"]
                coefficients = fit(rows)
                self.assertAlmostEqual(coefficients[1], -4.0, places=6)
                self.assertAlmostEqual(float(predict(coefficients, rows[:1])[0]), rows[0]["units"], places=6)


        if __name__ == "__main__":
            unittest.main()
        """#
}
