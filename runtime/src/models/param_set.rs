//! [`ParamSet`]: a model file's named parameters looked up by tree path, each taken at most
//! once, so that the leaves no layer took can be reported.

use std::collections::HashMap;

use crate::io::model_file::NamedParam;
use crate::io::params::element_count;
use crate::models::error::ModelError;

/// Named parameters looked up by path, each taken at most once; [`ParamSet::finish`] reports
/// those no layer took.
#[derive(Debug)]
pub struct ParamSet<'a> {
    params: &'a [NamedParam],
    index: HashMap<&'a str, usize>,
    taken: Vec<bool>,
}

impl<'a> ParamSet<'a> {
    /// Indexes `params`, checking that paths are distinct and data lengths match shapes.
    pub fn new(params: &'a [NamedParam]) -> Result<Self, ModelError> {
        let mut index = HashMap::with_capacity(params.len());
        for (i, param) in params.iter().enumerate() {
            let expected = element_count(&param.shape);
            if expected != Some(param.data.len()) {
                return Err(ModelError::Length {
                    path: param.path.clone(),
                    shape: param.shape.clone(),
                    expected: expected.unwrap_or(usize::MAX),
                    got: param.data.len(),
                });
            }
            if index.insert(param.path.as_str(), i).is_some() {
                return Err(ModelError::Duplicate {
                    path: param.path.clone(),
                });
            }
        }
        Ok(Self {
            params,
            index,
            taken: vec![false; params.len()],
        })
    }

    /// The data of the parameter at `path`, which must have shape `expected`.
    pub fn take(&mut self, path: &str, expected: &[usize]) -> Result<&'a [f32], ModelError> {
        let param = self
            .take_optional(path)
            .ok_or_else(|| ModelError::Missing {
                path: path.to_string(),
                expected: expected.to_vec(),
            })?;
        if param.shape != expected {
            return Err(ModelError::Shape {
                path: path.to_string(),
                got: param.shape.clone(),
                expected: expected.to_vec(),
            });
        }
        Ok(&param.data)
    }

    /// The parameter at `path`, if given (and not yet taken).
    pub fn take_optional(&mut self, path: &str) -> Option<&'a NamedParam> {
        let &i = self.index.get(path)?;
        if std::mem::replace(&mut self.taken[i], true) {
            return None;
        }
        Some(&self.params[i])
    }

    /// Succeeds when every parameter was taken; otherwise lists the others.
    pub fn finish(self) -> Result<(), ModelError> {
        let paths: Vec<String> = self
            .params
            .iter()
            .zip(&self.taken)
            .filter(|(_, &taken)| !taken)
            .map(|(p, _)| p.path.clone())
            .collect();
        if paths.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Unknown { paths })
        }
    }
}
