//! Experiment, not part of Rampart: MiniLM-L6 (all-MiniLM-L6-v2) sentence embeddings of the
//! `text` field of JSONL rows, mean-pooled and L2-normalised as sentence-transformers does,
//! written as little-endian f32 rows of 384. bench/embedding_probe.py trains and scores a
//! classifier on them to see whether an embedding stage would earn its cost.
//!
//! Usage: embed-probe MODEL_DIR IN.jsonl OUT.f32 [MAX_TOKENS=128]

use anyhow::{Context, Result, anyhow};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::io::{BufRead, Write};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, model_dir, input, output, rest @ ..] = args.as_slice() else {
        return Err(anyhow!(
            "usage: embed-probe MODEL_DIR IN.jsonl OUT.f32 [MAX_TOKENS]"
        ));
    };
    let max_tokens: usize = rest.first().map_or(Ok(128), |s| s.parse())?;
    let dir = std::path::Path::new(model_dir);
    let config: Config = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json"))?)?;
    let weights = std::fs::read(dir.join("model.safetensors"))?;
    let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)?;
    let model = BertModel::load(vb, &config)?;
    let mut tok = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| anyhow!("{e}"))?;
    tok.with_truncation(Some(TruncationParams {
        max_length: max_tokens,
        ..Default::default()
    }))
    .map_err(|e| anyhow!("{e}"))?;
    tok.with_padding(Some(PaddingParams::default()));

    let texts: Vec<String> = std::io::BufReader::new(std::fs::File::open(input)?)
        .lines()
        .map(|l| -> Result<String> {
            let v: serde_json::Value = serde_json::from_str(&l?)?;
            Ok(v["text"].as_str().context("row without text")?.to_string())
        })
        .collect::<Result<_>>()?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(output)?);
    let start = std::time::Instant::now();
    for (k, batch) in texts.chunks(16).enumerate() {
        let enc = tok
            .encode_batch(batch.to_vec(), true)
            .map_err(|e| anyhow!("{e}"))?;
        let ids: Vec<Tensor> = enc
            .iter()
            .map(|e| Tensor::new(e.get_ids(), &Device::Cpu))
            .collect::<candle_core::Result<_>>()?;
        let mask: Vec<Tensor> = enc
            .iter()
            .map(|e| Tensor::new(e.get_attention_mask(), &Device::Cpu))
            .collect::<candle_core::Result<_>>()?;
        let ids = Tensor::stack(&ids, 0)?;
        let mask = Tensor::stack(&mask, 0)?;
        let types = ids.zeros_like()?;
        let hidden = model.forward(&ids, &types, Some(&mask))?;
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let pooled = hidden
            .broadcast_mul(&m)?
            .sum(1)?
            .broadcast_div(&m.sum(1)?)?;
        let norm = pooled.sqr()?.sum_keepdim(1)?.sqrt()?;
        let unit = pooled.broadcast_div(&norm)?;
        for row in unit.to_vec2::<f32>()? {
            for x in row {
                out.write_all(&x.to_le_bytes())?;
            }
        }
        if k % 50 == 0 {
            eprintln!(
                "{} / {} texts, {:.1} ms per text",
                (k + 1) * 16,
                texts.len(),
                start.elapsed().as_secs_f64() * 1e3 / ((k + 1) * 16) as f64
            );
        }
    }
    out.flush()?;
    eprintln!(
        "{} texts in {:.1} s ({:.1} ms per text)",
        texts.len(),
        start.elapsed().as_secs_f64(),
        start.elapsed().as_secs_f64() * 1e3 / texts.len().max(1) as f64
    );
    Ok(())
}
